/**
 * State that must exist once per process, however many copies of the SDK are loaded: an app can load both builds
 * (the ES module and the CommonJS one, say an ES module app with a dependency that `require`s the SDK), and each
 * build is a module graph of its own. Such state lives on `globalThis` under a registered symbol; the name carries a
 * version, so an incompatible future shape gets a slot of its own.
 */
export function processWide<T>(name: string, create: () => T): T {
  const key = Symbol.for(`@vigil/sdk.${name}`);
  const slots = globalThis as unknown as Record<symbol, T | undefined>;
  let value = slots[key];
  if (value === undefined) {
    value = create();
    slots[key] = value;
  }
  return value;
}
