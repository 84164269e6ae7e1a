/**
 * @peculiar/x509 2.x loads tsyringe, which refuses to start without a `Reflect.getMetadata`
 * polyfill, and `reflect-metadata` is not among our dependencies. tsyringe only uses
 * get/define/getOwnMetadata (with no property key), so this minimal WeakMap version is enough.
 * Import this module before @peculiar/x509.
 */
type MetadataMap = Map<unknown, unknown>;
const store = new WeakMap<object, MetadataMap>();
const R = Reflect as any;

if (typeof R.getMetadata !== "function") {
    R.defineMetadata = (key: unknown, value: unknown, target: object) => {
        let map = store.get(target);
        if (!map) store.set(target, (map = new Map()));
        map.set(key, value);
    };
    R.getOwnMetadata = (key: unknown, target: object) => store.get(target)?.get(key);
    R.getMetadata = (key: unknown, target: object): unknown => {
        // Walk the prototype chain, as reflect-metadata does.
        for (let t: any = target; t; t = Object.getPrototypeOf(t)) {
            const map = store.get(t);
            if (map?.has(key)) return map.get(key);
        }
        return undefined;
    };
}

export {};
