/**
 * Shapes of names and addresses in the config: DNS names (RFC 1123, as Kubernetes validates
 * them), SANs, the control-plane endpoint and the service CIDR limits kube-apiserver enforces.
 */
import { isIP } from "node:net";
import * as path from "node:path";
import { bigIntToIp, parseCidr } from "../pki/net";

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** One lowercase RFC 1123 label (cluster names): at most 63 characters. */
export function isDnsLabel(value: string): boolean {
    return value.length <= 63 && LABEL.test(value);
}

/**
 * A lowercase RFC 1123 DNS name (node names, SANs). The last label must not be all digits, so a
 * mistyped IP such as "10.0.0.300" is not mistaken for a host name.
 */
export function isDnsName(value: string, options: { allowWildcard?: boolean } = {}): boolean {
    let name = value;
    if (options.allowWildcard && name.startsWith("*.")) name = name.slice(2);
    if (name.length === 0 || name.length > 253) return false;
    const labels = name.split(".");
    return labels.every((label) => isDnsLabel(label)) && !/^\d+$/.test(labels[labels.length - 1]);
}

/** A certificate SAN: an IP address or a DNS name (wildcards allowed, as kubeadm's certSANs). */
export function isSan(value: string): boolean {
    return isIP(value) !== 0 || isDnsName(value, { allowWildcard: true });
}

export const DEFAULT_APISERVER_PORT = 6443;

export type EndpointParse =
    | { ok: true; host: string; port: number }
    | { ok: false; reason: "format" | "host" | "port" };

/** "host:port", "host", "[v6]:port" or a bare IPv6 address; the port defaults to 6443. */
export function parseEndpoint(text: string): EndpointParse {
    let host: string;
    let portText: string | undefined;
    const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
    if (bracketed) {
        host = bracketed[1];
        portText = bracketed[2];
        if (isIP(host) !== 6) return { ok: false, reason: "host" };
    } else if (isIP(text) === 6) {
        host = text;
    } else {
        const parts = text.split(":");
        if (parts.length > 2) return { ok: false, reason: "format" };
        [host, portText] = parts;
    }
    if (host === "" || (isIP(host) === 0 && !isDnsName(host))) return { ok: false, reason: "host" };
    if (portText === undefined) return { ok: true, host, port: DEFAULT_APISERVER_PORT };
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) return { ok: false, reason: "port" };
    return { ok: true, host, port };
}

/** Why a service CIDR cannot be used, or undefined when it can. */
export type ServiceCidrProblem = "not-cidr" | "dual-stack" | "host-bits" | "too-small" | "too-large";

// kube-apiserver refuses service ranges larger than 2^20 addresses (IPv4 /12, IPv6 /108); a range
// smaller than /28 (IPv6 /120) leaves hardly any ClusterIPs besides the `kubernetes` service's.
export const SERVICE_PREFIX_LIMITS = { 4: { shortest: 12, longest: 28 }, 6: { shortest: 108, longest: 120 } } as const;

export function serviceCidrProblem(text: string): ServiceCidrProblem | undefined {
    if (text.includes(",")) return "dual-stack";
    const cidr = parseCidr(text);
    if (!cidr) return "not-cidr";
    const address = text.split("/")[0];
    if (parseCidr(`${address}/${cidr.family === 4 ? 32 : 128}`)!.network !== cidr.network) return "host-bits";
    const limits = SERVICE_PREFIX_LIMITS[cidr.family];
    if (cidr.prefix > limits.longest) return "too-small";
    if (cidr.prefix < limits.shortest) return "too-large";
    return undefined;
}

/** "10.96.0.1/12" → "10.96.0.0/12": the network a CIDR with host bits names. */
export function networkOf(text: string): string | undefined {
    const cidr = parseCidr(text);
    if (!cidr) return undefined;
    return `${bigIntToIp(cidr.network, cidr.family)}/${cidr.prefix}`;
}

/** Expands a leading "~" to the home directory, then resolves relative paths against `base`. */
export function resolveUserPath(text: string, env: { home: string; cwd: string }): string {
    const expanded = text === "~" ? env.home : text.startsWith("~/") ? path.join(env.home, text.slice(2)) : text;
    return path.resolve(env.cwd, expanded);
}
