/** A problem that stops `kube-pki` before it can check anything (bad flags, unreadable stack). */
export class CliError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "CliError";
    }
}

/** Exit code when nothing could be checked (distinct from the 0/1/2 check results). */
export const EXIT_USAGE = 3;
