/**
 * The API of apps.ts on NestJS, on both of its platforms, instrumented exactly as docs/sdk.md's NestJS section says:
 * the Express or Fastify adapter in `main.ts` before `listen()`, the client shared as a provider, class-validator's
 * errors passed to `vigil.input.fromError` in `ValidationPipe`'s exception factory, and an exception filter that
 * reports the errors Nest answers with a 500 itself.
 *
 * Where the other apps set the user in a middleware, this one does it in a guard, as `@nestjs/passport`'s
 * `AuthGuard` does (`request.user`).
 */
import 'reflect-metadata';
import {
  type ArgumentsHost,
  BadRequestException,
  Body,
  type CanActivate,
  Catch,
  Controller,
  type ExecutionContext,
  ForbiddenException,
  Get,
  HttpCode,
  HttpException,
  type HttpServer,
  Inject,
  Injectable,
  Module,
  Param,
  Post,
  Req,
  ValidationPipe,
} from '@nestjs/common';
import { APP_GUARD, BaseExceptionFilter, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Vigil } from '@vigil/sdk';
import { vigilExpress } from '@vigil/sdk/express';
import { vigilFastify } from '@vigil/sdk/fastify';
import { IsInt, IsString, Min } from 'class-validator';
import { type RunningApp, SECRET_IN_ERROR, SecretError } from './apps.js';

/** The provider token of the shared client. */
const VIGIL = 'VIGIL';

const delay = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

class OrderBody {
  @IsString()
  sku!: string;

  @IsInt()
  @Min(1)
  quantity!: number;
}

@Injectable()
class TestUserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; user?: unknown }>();
    const header = request.headers['x-test-user'];
    request.user = typeof header === 'string' && header.length > 0 ? { id: header, roles: ['customer'] } : undefined;
    return true;
  }
}

@Controller()
class ApiController {
  constructor(@Inject(VIGIL) private readonly vigil: Vigil) {}

  @Get('users/:id')
  user(@Param('id') id: string, @Req() request: { user?: unknown }) {
    if (request.user) this.vigil.sensitive.read(undefined, { type: 'user', id });
    return { id };
  }

  @Post('login')
  @HttpCode(401)
  login(@Body() body: { user: string }) {
    this.vigil.authn.loginFail(body.user, { reason: 'bad_password', userExists: true });
    return { error: 'invalid credentials' };
  }

  @Post('search/:scope')
  @HttpCode(200)
  search() {
    return { results: [] };
  }

  @Get('admin')
  admin() {
    throw new ForbiddenException();
  }

  @Get('boom')
  boom() {
    throw new SecretError(`query failed: ${SECRET_IN_ERROR}`);
  }

  @Get('later/:doc')
  async later(@Param('doc') doc: string) {
    await delay(2);
    this.vigil.authz.fail(undefined, doc);
    throw new ForbiddenException();
  }

  @Post('orders/:orderId')
  order(@Param('orderId') orderId: string, @Body() _body: OrderBody) {
    return { id: orderId };
  }
}

/**
 * Errors Nest answers itself never reach the framework's error hooks: report the class of a 500 here, and a body
 * Nest's Express platform could not parse (a BadRequestException caused by body-parser's SyntaxError).
 */
@Catch()
class VigilExceptionFilter extends BaseExceptionFilter {
  constructor(
    private readonly vigil: Vigil,
    adapter: HttpServer,
  ) {
    super(adapter);
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (!(exception instanceof HttpException)) this.vigil.app.error(exception);
    else if (exception.cause instanceof SyntaxError) this.vigil.input.fromError(exception.cause);
    super.catch(exception, host);
  }
}

function appModule(vigil: Vigil) {
  @Module({
    controllers: [ApiController],
    providers: [
      { provide: VIGIL, useValue: vigil },
      { provide: APP_GUARD, useClass: TestUserGuard },
    ],
  })
  class AppModule {}
  return AppModule;
}

function validationPipe(vigil: Vigil): ValidationPipe {
  return new ValidationPipe({
    exceptionFactory: (errors) => {
      vigil.input.fromError(errors);
      return new BadRequestException('invalid input');
    },
  });
}

export async function startNestExpress(vigil: Vigil): Promise<RunningApp> {
  const app = await NestFactory.create(appModule(vigil), { logger: false });
  app.use(vigilExpress(vigil)); // as docs/sdk.md: global Express middleware, before guards, pipes and controllers
  app.useGlobalPipes(validationPipe(vigil));
  app.useGlobalFilters(new VigilExceptionFilter(vigil, app.getHttpAdapter()));
  await app.listen(0, '127.0.0.1');
  return { url: await app.getUrl().then(loopbackUrl), close: () => app.close() };
}

export async function startNestFastify(vigil: Vigil): Promise<RunningApp> {
  const app = await NestFactory.create<NestFastifyApplication>(appModule(vigil), new FastifyAdapter(), {
    logger: false,
  });
  await app.getHttpAdapter().getInstance().register(vigilFastify(vigil)); // as docs/sdk.md: on the Fastify instance
  app.useGlobalPipes(validationPipe(vigil));
  app.useGlobalFilters(new VigilExceptionFilter(vigil, app.getHttpAdapter()));
  await app.listen(0, '127.0.0.1');
  return { url: await app.getUrl().then(loopbackUrl), close: () => app.close() };
}

/** `getUrl()` names the host `[::1]` or `localhost` on some platforms; the tests call 127.0.0.1. */
function loopbackUrl(url: string): string {
  return `http://127.0.0.1:${new URL(url).port}`;
}
