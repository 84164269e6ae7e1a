/**
 * The simulator's network: one bridge per cluster in the root namespace, one network
 * namespace per node joined to it by a veth pair, and a blackhole route over the whole sim
 * range so nothing addressed to it can leave the machine.
 *
 * Several clusters (from several test processes) may run at once: each takes a "slot" X,
 * i.e. subnet 10.213.X.0/24, recorded under /run/kube-pki-sim/slot-X with the owner's PID.
 * Leftovers whose owner is dead (a crashed run) are removed on the next start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { SIM_BINARIES } from "./prereq";
import { run, sleep } from "./proc";

const REGISTRY = "/run/kube-pki-sim";
/** Covers every slot's subnet; blackholed so a typo can never route outside. */
export const SIM_RANGE = "10.213.0.0/16";
const MAX_SLOT = 250;

export interface Slot {
    index: number;
    /** e.g. "10.213.7" */
    prefix: string;
    bridge: string;
    bridgeIp: string;
}

export function netnsName(slot: number, nodeIndex: number): string {
    return `kpsim-${slot}-${nodeIndex}`;
}
export function hostVethName(slot: number, nodeIndex: number): string {
    return `kpsim${slot}h${nodeIndex}`;
}
export function nodeIp(slot: Slot, nodeIndex: number): string {
    return `${slot.prefix}.${11 + nodeIndex}`;
}

function ip(args: string[], check = true) {
    return run(SIM_BINARIES.ip, args, { check, timeoutMs: 15_000 });
}

/** "pid starttime" of a process, which stays unique even when PIDs are reused. */
function processIdentity(pid: number): string | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return `${pid} ${fields[19]}`;
    } catch {
        return undefined;
    }
}

function slotOwnerAlive(dir: string): boolean {
    try {
        const owner = fs.readFileSync(path.join(dir, "owner"), "utf8").trim();
        return processIdentity(Number(owner.split(" ")[0])) === owner;
    } catch {
        // Being created right now (mkdir done, owner not yet written) counts as alive.
        try {
            return Date.now() - fs.statSync(dir).mtimeMs < 10_000;
        } catch {
            return false;
        }
    }
}

/** Removes the netns, processes and links of slot `index` (the owner must be gone). */
async function reapSlot(index: number): Promise<void> {
    const { stdout } = await ip(["netns", "list"]);
    for (const line of stdout.split("\n")) {
        const name = line.split(" ")[0];
        if (!name.startsWith(`kpsim-${index}-`)) continue;
        await killNetnsProcesses(name);
        await ip(["netns", "del", name], false);
    }
    await ip(["link", "del", `kpsim${index}br`], false);
    await waitLinksGone(index);
}

/** The slot's host-side links (bridge, veth ends) still listed by `ip link`. */
async function slotLinks(index: number): Promise<string[]> {
    const { stdout } = await ip(["-o", "link", "show"]);
    const re = new RegExp(`^\\d+: (kpsim${index}(?:br|h\\d+))[@:]`, "gm");
    return [...stdout.matchAll(re)].map((m) => m[1]);
}

/**
 * The kernel destroys a deleted namespace's veth pairs asynchronously: wait (bounded) until
 * none of the slot's links is listed, deleting stragglers once, so a stopped slot is really gone.
 */
async function waitLinksGone(index: number, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let nudged = false;
    for (;;) {
        const left = await slotLinks(index);
        if (left.length === 0) return;
        if (Date.now() > end) throw new Error(`links of simulator slot ${index} still present ${timeoutMs} ms after removal: ${left.join(", ")}`);
        if (!nudged && Date.now() > end - timeoutMs / 2) {
            nudged = true;
            for (const l of left) await ip(["link", "del", l], false);
        }
        await sleep(50);
    }
}

/** Kills every process inside network namespace `name` (all of them were started by the sim). */
export async function killNetnsProcesses(name: string): Promise<void> {
    for (let i = 0; i < 50; i++) {
        const { stdout } = await ip(["netns", "pids", name], false);
        const pids = stdout.split(/\s+/).filter(Boolean).map(Number);
        if (pids.length === 0) return;
        for (const pid of pids) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                /* gone */
            }
        }
        await sleep(100);
    }
    throw new Error(`processes in netns ${name} survive SIGKILL`);
}

/** Cleans every slot (and orphan kpsim-* netns/links) whose owner process is dead. */
export async function reapStaleSlots(): Promise<number[]> {
    fs.mkdirSync(REGISTRY, { recursive: true, mode: 0o700 });
    const reaped = new Set<number>();
    const live = new Set<number>();
    for (const entry of fs.readdirSync(REGISTRY)) {
        const m = /^slot-(\d+)$/.exec(entry);
        if (!m) continue;
        const dir = path.join(REGISTRY, entry);
        if (slotOwnerAlive(dir)) {
            live.add(Number(m[1]));
            continue;
        }
        // Rename first so two starting runs never reap the same slot at once.
        const claim = `${dir}.reaping-${process.pid}`;
        try {
            fs.renameSync(dir, claim);
        } catch {
            continue;
        }
        await reapSlot(Number(m[1]));
        removeRunDir(claim);
        fs.rmSync(claim, { recursive: true, force: true });
        reaped.add(Number(m[1]));
    }
    // Orphans: kpsim-* namespaces or bridges with no live slot (e.g. registry lost on reboot).
    const { stdout: ns } = await ip(["netns", "list"]);
    const { stdout: links } = await ip(["-o", "link", "show"]);
    const seen = new Set<number>();
    for (const m of ns.matchAll(/^kpsim-(\d+)-\d+/gm)) seen.add(Number(m[1]));
    for (const m of links.matchAll(/^\d+: kpsim(\d+)(?:br|h\d+)[@:]/gm)) seen.add(Number(m[1]));
    for (const index of seen) {
        if (live.has(index) || fs.existsSync(path.join(REGISTRY, `slot-${index}`))) continue;
        await reapSlot(index);
        reaped.add(index);
    }
    return [...reaped];
}

/** Remembers the run folder of a slot so a crashed run's files (keys!) are removed when it is reaped. */
export function recordSlotDir(slot: Slot, dir: string): void {
    fs.writeFileSync(path.join(REGISTRY, `slot-${slot.index}`, "dir"), dir);
}

function removeRunDir(slotDir: string): void {
    try {
        const dir = fs.readFileSync(path.join(slotDir, "dir"), "utf8").trim();
        if (dir.startsWith("/") && dir !== "/") fs.rmSync(dir, { recursive: true, force: true });
    } catch {
        /* no run folder recorded */
    }
}

/** Claims a free slot for this process and creates its bridge and the blackhole route. */
export async function claimSlot(): Promise<Slot> {
    await reapStaleSlots();
    for (let index = 1; index <= MAX_SLOT; index++) {
        const dir = path.join(REGISTRY, `slot-${index}`);
        try {
            fs.mkdirSync(dir, { mode: 0o700 });
        } catch {
            continue; // taken
        }
        fs.writeFileSync(path.join(dir, "owner"), processIdentity(process.pid)!);
        const slot: Slot = {
            index,
            prefix: `10.213.${index}`,
            bridge: `kpsim${index}br`,
            bridgeIp: `10.213.${index}.1`,
        };
        try {
            await ensureBlackhole();
            await ip(["link", "del", slot.bridge], false);
            await ip(["link", "add", slot.bridge, "type", "bridge"]);
            await ip(["addr", "add", `${slot.bridgeIp}/24`, "dev", slot.bridge]);
            await ip(["link", "set", slot.bridge, "up"]);
        } catch (e) {
            await releaseSlot(slot);
            throw e;
        }
        return slot;
    }
    throw new Error(`no free simulator slot in ${REGISTRY} (1..${MAX_SLOT} taken)`);
}

async function ensureBlackhole(): Promise<void> {
    const { stdout } = await ip(["route", "show", "type", "blackhole", SIM_RANGE]);
    if (!stdout.includes("10.213.0.0/16")) await ip(["route", "add", "blackhole", SIM_RANGE], false);
}

/** Creates node `nodeIndex`'s netns, veth pair (eth0 inside) and addresses; lo is brought up. */
export async function addNodeNetwork(slot: Slot, nodeIndex: number): Promise<{ netns: string; ip: string }> {
    const netns = netnsName(slot.index, nodeIndex);
    const host = hostVethName(slot.index, nodeIndex);
    const peer = `kpsim${slot.index}n${nodeIndex}`;
    const addr = nodeIp(slot, nodeIndex);
    await ip(["netns", "add", netns]);
    await ip(["link", "add", host, "type", "veth", "peer", "name", peer]);
    await ip(["link", "set", peer, "netns", netns]);
    await ip(["link", "set", host, "master", slot.bridge]);
    await ip(["link", "set", host, "up"]);
    const inNs = (args: string[]) => ip(["-n", netns, ...args]);
    await inNs(["link", "set", peer, "name", "eth0"]);
    await inNs(["addr", "add", `${addr}/24`, "dev", "eth0"]);
    await inNs(["link", "set", "eth0", "up"]);
    await inNs(["link", "set", "lo", "up"]);
    return { netns, ip: addr };
}

/** Removes the slot's namespaces, bridge and registry entry; the blackhole goes with the last slot. */
export async function releaseSlot(slot: Slot): Promise<void> {
    await reapSlot(slot.index);
    fs.rmSync(path.join(REGISTRY, `slot-${slot.index}`), { recursive: true, force: true });
    const others = fs.readdirSync(REGISTRY).filter((e) => e.startsWith("slot-"));
    if (others.length === 0) await ip(["route", "del", "blackhole", SIM_RANGE], false);
}
