// vitest setupFiles: tests exercise the core with the built-ins registered, as the CLI does.
import './builtins.js';
