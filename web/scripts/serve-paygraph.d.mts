export function freePort(): Promise<number>;
export function pythonPath(): string;
export function startPaygraph(options?: {
  port?: number;
  origins?: string[];
  quiet?: boolean;
}): Promise<{ url: string; stop: () => Promise<void> }>;
