/**
 * Judges of a service-account key rotation on the simulated cluster: what every master's sa.pub
 * and sa.key hold (read from the node's files, compared as SubjectPublicKeyInfo), and tokens minted
 * by each apiserver stand-in and presented to every one (test/harness/sim/sa-tokens.ts).
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import * as fs from "node:fs";
import YAML from "yaml";
import type { SimCluster, SimNode } from "../harness/sim";
import { requestToken, tokenAccepted } from "../harness/sim/sa-tokens";

const SA_PUB = "/etc/kubernetes/pki/sa.pub";
const SA_KEY = "/etc/kubernetes/pki/sa.key";
const PUBLIC_BLOCK = /-----BEGIN ([A-Z ]*)PUBLIC KEY-----[\s\S]*?-----END \1PUBLIC KEY-----/g;

export const spkiOf = (pem: string): string => createPublicKey(pem).export({ type: "spki", format: "pem" }) as string;

/** Per master: sa.pub's keys in file order and sa.key's public half, each named "old", "new" or "?". */
export function saHoldings(sim: SimCluster, keys: { old: string; new: string }): Record<string, { pub: string[]; key: string }> {
    const name = (spki: string) => (spki === keys.new ? "new" : spki === keys.old ? "old" : "?");
    return Object.fromEntries(sim.masters.map((m) => {
        const pubs = [...fs.readFileSync(m.realHostPath(SA_PUB), "utf8").matchAll(PUBLIC_BLOCK)].map((b) => name(spkiOf(b[0])));
        const key = name(spkiOf(createPublicKey(createPrivateKey(fs.readFileSync(m.realHostPath(SA_KEY)))).export({ type: "spki", format: "pem" }) as string));
        return [m.name, { pub: pubs, key }];
    }));
}

/** The old pair's public key, from master-1's sa.pub before the rotation. */
export function oldSaPublicKey(sim: SimCluster): string {
    const first = fs.readFileSync(sim.masters[0].realHostPath(SA_PUB), "utf8").match(PUBLIC_BLOCK)?.[0];
    if (!first) throw new Error(`${SA_PUB} on ${sim.masters[0].name} holds no public key`);
    return spkiOf(first);
}

/** admin.conf of a master: its apiserver URL, CA data and client certificate/key (the stand-in's admin). */
function adminOf(node: SimNode): { server: string; caPem: string; clientCertPem: string; clientKeyPem: string } {
    const kc = YAML.parse(fs.readFileSync(node.realHostPath("/etc/kubernetes/admin.conf"), "utf8"));
    const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8");
    return {
        server: `https://${node.ip}:6443`,
        caPem: b64(kc.clusters[0].cluster["certificate-authority-data"]),
        clientCertPem: b64(kc.users[0].user["client-certificate-data"]),
        clientKeyPem: b64(kc.users[0].user["client-key-data"]),
    };
}

/** A token from each master's apiserver (TokenRequest as that master's admin), by master name. */
export async function mintTokens(sim: SimCluster): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const m of sim.masters) out[m.name] = await requestToken({ ...adminOf(m), namespace: "default", name: "default" });
    return out;
}

/** The HTTP status every apiserver answers each token with (GET /api with the bearer token): "<token name>@<master>" → status. */
export async function tokenVerdicts(sim: SimCluster, tokens: Record<string, string>): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [label, token] of Object.entries(tokens)) {
        for (const m of sim.masters) {
            const { server, caPem } = adminOf(m);
            out[`${label}@${m.name}`] = await tokenAccepted({ server, caPem, token });
        }
    }
    return out;
}

/** `statuses` for every token × master, all equal to `status`. */
export function allAnswered(sim: SimCluster, labels: readonly string[], status: number): Record<string, number> {
    return Object.fromEntries(labels.flatMap((l) => sim.masters.map((m) => [`${l}@${m.name}`, status])));
}
