/**
 * The login key and host-key checks accept every valid ed25519 key, including the ~1 in 256
 * whose public key begins with a zero byte (ssh-keygen writes it at full 32 bytes; ssh2 1.17's
 * own generator drops that byte, which is why the test keys come from node:crypto).
 */
import * as crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseHostKey } from "../../src/config/host-key";
import { privateKeyProblem } from "../../src/config/ssh-key";
import { describePrivateKey } from "../harness/mocks/tls-keys";

/** An ed25519 key whose raw public key starts with 0x00 (found by drawing keys, ~256 draws). */
function keyWithLeadingZeroPublic(): ReturnType<typeof describePrivateKey> {
    for (let i = 0; i < 20_000; i++) {
        const key = crypto.generateKeyPairSync("ed25519").privateKey;
        const raw = crypto.createPublicKey(key).export({ format: "der", type: "spki" }).subarray(-32);
        if (raw[0] === 0) return describePrivateKey(key);
    }
    throw new Error("no ed25519 key with a leading zero byte in 20000 draws");
}

describe("ed25519 keys with a leading zero byte", () => {
    const key = keyWithLeadingZeroPublic();

    it("is a usable login key", () => {
        expect(privateKeyProblem(key.privateKeyOpenssh)).toBeUndefined();
    });

    it("is a usable host key pin", () => {
        const parsed = parseHostKey(key.publicKeyOpenssh);
        expect(parsed).not.toHaveProperty("problem");
        expect(parsed).toMatchObject({ type: "ssh-ed25519" });
    });
});
