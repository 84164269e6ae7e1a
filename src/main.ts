// The entry point Pulumi runs (Pulumi.yaml `main`). The returned object becomes the stack outputs.
import { kubePki } from "./program";

export = () => kubePki();
