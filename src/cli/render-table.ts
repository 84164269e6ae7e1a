/**
 * The human table, shaped like `kubeadm certs check-expiration` (same columns, date format,
 * residual time and `!MISSING!` rows) plus NODE, SERVED and STATUS.
 */
import { fixedWidth } from "../drift/report";
import type { CheckRow, NodeRows } from "./rows";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** kubeadm's "Jan 02, 2006 15:04 MST", always UTC. */
export function kubeadmDate(d: Date): string {
    return `${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())}, ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

/** kubeadm's residual time (apimachinery ShortHumanDuration): "<invalid>", 45s, 12m, 5h, 213d, 9y. */
export function residualTime(ms: number): string {
    const seconds = Math.floor(ms / 1000);
    if (seconds < -1) return "<invalid>";
    if (seconds < 0) return "0s";
    if (seconds < 60) return `${seconds}s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes}m`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours}h`;
    if (hours < 24 * 365) return `${Math.floor(hours / 24)}d`;
    return `${Math.floor(hours / 24 / 365)}y`;
}

const yesNo = (b: boolean) => (b ? "yes" : "no");
const status = (r: CheckRow) => (r.status === "ok" ? "ok" : `${r.status}: ${r.detail}`);

export function renderTable(nodes: readonly NodeRows[], now: Date): string {
    const certRows: string[][] = [];
    const caRows: string[][] = [];
    for (const n of nodes) {
        if (!n.reachable) {
            certRows.push([n.node, "!UNREACHABLE!", "", "", "", "", "", `unreachable: ${n.error ?? "unknown error"}`]);
            continue;
        }
        for (const r of n.rows) {
            const expires = r.cert ? kubeadmDate(r.cert.notAfter) : "";
            const residual = r.cert ? residualTime(r.cert.notAfter.getTime() - now.getTime()) : "";
            const name = r.missing ? `!MISSING! ${r.name}` : r.name;
            if (r.section === "authority") caRows.push([n.node, name, expires, residual, yesNo(r.externallyManaged), status(r)]);
            else certRows.push([n.node, name, expires, residual, r.authority, r.missing ? "" : yesNo(r.externallyManaged), r.served, status(r)]);
        }
    }
    const parts = [
        fixedWidth(["NODE", "CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED", "SERVED", "STATUS"], certRows),
        fixedWidth(["NODE", "CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED", "STATUS"], caRows),
    ];
    const skewed = nodes.filter((n) => n.skewSeconds !== undefined && Math.abs(n.skewSeconds) > 30);
    if (skewed.length) parts.push(skewed.map((n) => `clock: ${n.node} is ${Math.abs(n.skewSeconds!)}s ${n.skewSeconds! > 0 ? "ahead of" : "behind"} this machine`).join("\n") + "\n");
    return parts.join("\n");
}
