/**
 * IP and CIDR arithmetic needed for SANs (the first service IP) and config checks.
 * IPv4 and IPv6, via node:net's parser and BigInt arithmetic.
 */
import { isIP } from "node:net";

export function isIpAddress(value: string): boolean {
    return isIP(value) !== 0;
}

export interface Cidr {
    family: 4 | 6;
    network: bigint;
    prefix: number;
}

/** Parse "10.96.0.0/12" or "fd00::/108"; returns undefined when it is not a CIDR. */
export function parseCidr(value: string): Cidr | undefined {
    const [address, prefixText, ...rest] = value.split("/");
    if (rest.length > 0 || prefixText === undefined || !/^\d{1,3}$/.test(prefixText)) return undefined;
    const family = isIP(address);
    if (family === 0) return undefined;
    const prefix = Number(prefixText);
    const bits = family === 4 ? 32 : 128;
    if (prefix > bits) return undefined;
    const hostMask = (1n << BigInt(bits - prefix)) - 1n;
    return { family: family as 4 | 6, network: ipToBigInt(address) & ~hostMask, prefix };
}

/** The first usable address of a service CIDR: the ClusterIP of the `kubernetes` service. */
export function firstServiceIp(cidr: string): string {
    const parsed = parseCidr(cidr);
    if (!parsed) throw new Error(`"${cidr}" is not a CIDR`);
    return bigIntToIp(parsed.network + 1n, parsed.family);
}

export function ipToBigInt(address: string): bigint {
    if (isIP(address) === 4) {
        return address.split(".").reduce((acc, octet) => (acc << 8n) + BigInt(Number(octet)), 0n);
    }
    return expandIpv6(address).reduce((acc, group) => (acc << 16n) + BigInt(parseInt(group, 16)), 0n);
}

export function bigIntToIp(value: bigint, family: 4 | 6): string {
    if (family === 4) {
        return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 255n).toString()).join(".");
    }
    const groups: string[] = [];
    for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
    return compressIpv6(groups);
}

function expandIpv6(address: string): string[] {
    let text = address;
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
    const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
    if (v4) {
        const n = ipToBigInt(v4[1]);
        text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = text.split("::");
    const headGroups = head ? head.split(":") : [];
    const tailGroups = tail !== undefined && tail !== "" ? tail.split(":") : [];
    const missing = 8 - headGroups.length - tailGroups.length;
    return tail === undefined ? headGroups : [...headGroups, ...Array(missing).fill("0"), ...tailGroups];
}

/** RFC 5952 form: the longest run of zero groups becomes "::". */
function compressIpv6(groups: string[]): string {
    let bestStart = -1;
    let bestLength = 0;
    for (let i = 0; i < groups.length;) {
        if (groups[i] !== "0") { i++; continue; }
        let j = i;
        while (j < groups.length && groups[j] === "0") j++;
        if (j - i > bestLength && j - i > 1) { bestStart = i; bestLength = j - i; }
        i = j;
    }
    if (bestStart < 0) return groups.join(":");
    const head = groups.slice(0, bestStart).join(":");
    const tail = groups.slice(bestStart + bestLength).join(":");
    return `${head}::${tail}`;
}
