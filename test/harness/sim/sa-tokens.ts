/**
 * What a live test asks the kube-apiserver stand-in about service-account tokens, from the test
 * process: mint one with TokenRequest (admin client certificate), and show one as a bearer token.
 */
import * as https from "node:https";

export interface ApiTarget {
    /** "https://<ip>:6443" */
    server: string;
    /** The CA the apiserver's serving certificate chains to. */
    caPem: string;
}

interface Reply { status: number; body: string }

function call(t: ApiTarget, method: string, path: string, opts: { cert?: string; key?: string; token?: string; body?: unknown }): Promise<Reply> {
    const url = new URL(path, t.server);
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    return new Promise((resolve, reject) => {
        const req = https.request({
            host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 443), method, path: url.pathname,
            ca: t.caPem, cert: opts.cert, key: opts.key, agent: false, timeout: 10_000,
            headers: { Accept: "application/json", ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
                ...(payload ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) } : {}) },
        }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${url.href}: timed out`)));
        req.on("error", reject);
        req.end(payload);
    });
}

/**
 * POST /api/v1/namespaces/<namespace>/serviceaccounts/<name>/token with the admin client certificate;
 * resolves to status.token, rejects with the status code and body on anything but 201.
 */
export async function requestToken(o: ApiTarget & { clientCertPem: string; clientKeyPem: string; namespace?: string; name?: string; expirationSeconds?: number }): Promise<string> {
    const ns = o.namespace ?? "default";
    const name = o.name ?? "default";
    const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/serviceaccounts/${encodeURIComponent(name)}/token`;
    const r = await call(o, "POST", path, { cert: o.clientCertPem, key: o.clientKeyPem,
        body: { kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1", spec: { expirationSeconds: o.expirationSeconds ?? null } } });
    if (r.status !== 201) throw new Error(`TokenRequest ${ns}/${name} at ${o.server}: HTTP ${r.status}: ${r.body}`);
    const token = (JSON.parse(r.body) as { status?: { token?: string } }).status?.token;
    if (!token) throw new Error(`TokenRequest ${ns}/${name} at ${o.server}: no status.token in the answer`);
    return token;
}

/** GET /api with the token as bearer (no client certificate): the HTTP status, 200 accepted, 401 refused. */
export async function tokenAccepted(o: ApiTarget & { token: string }): Promise<number> {
    return (await call(o, "GET", "/api", { token: o.token })).status;
}

/** The kid of a token's header (jwt.go keyIDFromPublicKey of the key that signed it). */
export function tokenKeyId(token: string): string | undefined {
    const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8")) as { kid?: string };
    return header.kid;
}
