/** Parsers of command-line option values shared by the commands (commander argParser functions). */
import { InvalidArgumentError } from "commander";

/** A whole number ≥ min ("--concurrency 4"); anything else is a usage error naming the rule. */
export function wholeNumber(min: number): (value: string) => number {
    return (value: string): number => {
        const n = Number(value);
        if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be a whole number ≥ ${min}`);
        return n;
    };
}

/** An ISO date ("--now 2027-01-01T00:00:00Z", tests judge as of a fixed time). */
export function isoDate(value: string): Date {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) throw new InvalidArgumentError("must be an ISO date");
    return d;
}
