/**
 * `command:remote:CopyToRemote` as the provider runs it (copyController.go sftpCopy/copyDir):
 * dial with the connection, open SFTP, and copy a file or directory. A directory without a trailing
 * slash lands at <remotePath>/<basename>; missing remotePath is created (MkdirAll); files are
 * created/truncated with the server's default mode; extra remote files are left alone.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { SFTPWrapper, Stats } from "ssh2";
import { dial, type SshConnection } from "./ssh-exec";

function sftpOf(client: import("ssh2").Client): Promise<SFTPWrapper> {
    return new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
}

const call = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> =>
    new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

async function remoteStat(sftp: SFTPWrapper, p: string): Promise<Stats | undefined> {
    try {
        return await call<Stats>((cb) => sftp.stat(p, cb));
    } catch (err) {
        if ((err as { code?: number }).code === 2) return undefined; // SSH_FX_NO_SUCH_FILE
        throw new Error(`failed to stat remote path ${p}: ${(err as Error).message}`);
    }
}

async function mkdirAll(sftp: SFTPWrapper, p: string): Promise<void> {
    const st = await remoteStat(sftp, p);
    if (st) {
        if (!st.isDirectory()) throw new Error(`remote path ${p} exists but is not a directory`);
        return;
    }
    await mkdirAll(sftp, path.posix.dirname(p));
    await call((cb) => sftp.mkdir(p, cb));
}

async function copyFile(sftp: SFTPWrapper, src: string, dst: string): Promise<void> {
    await call((cb) => sftp.writeFile(dst, fs.readFileSync(src), cb)).catch((err: Error) => {
        throw new Error(`failed to copy file ${src} to remote path ${dst}: ${err.message}`);
    });
}

async function copyDir(sftp: SFTPWrapper, src: string, dst: string): Promise<void> {
    const st = await remoteStat(sftp, dst);
    if (!st) await call((cb) => sftp.mkdir(dst, cb));
    else if (!st.isDirectory()) throw new Error(`remote path ${dst} exists but is not a directory`);
    for (const name of fs.readdirSync(src).sort()) {
        const full = path.join(src, name);
        if (fs.statSync(full).isDirectory()) await copyDir(sftp, full, path.posix.join(dst, name));
        else await copyFile(sftp, full, path.posix.join(dst, name));
    }
}

export async function copyToRemote(conn: SshConnection, sourcePath: string, remotePath: string): Promise<void> {
    const client = await dial(conn);
    // A cut connection may never call back pending SFTP requests: fail at once, as the provider does.
    const lost = new Promise<never>((_, reject) => {
        client.once("close", () => reject(new Error("ssh: connection lost while copying (closed)")));
        client.once("error", (e: Error) => reject(new Error(`ssh: connection lost while copying (${e.message})`)));
    });
    lost.catch(() => undefined);
    try {
        await Promise.race([lost, copy(client, sourcePath, remotePath)]);
    } finally {
        client.end();
    }
}

async function copy(client: import("ssh2").Client, sourcePath: string, remotePath: string): Promise<void> {
    const sftp = await sftpOf(client);
    const srcIsDir = fs.statSync(sourcePath).isDirectory();
    const destStat = await remoteStat(sftp, remotePath);
    if (srcIsDir) {
        if (destStat && !destStat.isDirectory()) throw new Error(`remote path ${remotePath} exists but is not a directory`);
        if (!destStat) await mkdirAll(sftp, remotePath);
        const dest = sourcePath.endsWith("/") ? remotePath : path.posix.join(remotePath, path.basename(sourcePath));
        await copyDir(sftp, sourcePath, dest);
    } else {
        let dest = remotePath;
        if (destStat?.isDirectory()) dest = path.posix.join(remotePath, path.basename(sourcePath));
        else if (!destStat) await mkdirAll(sftp, path.posix.dirname(remotePath));
        await copyFile(sftp, sourcePath, dest);
    }
    sftp.end();
}
