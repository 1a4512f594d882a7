import { lineSplitter } from './lines.js';
import type { Reporter } from './reporter.js';

export type LogFormat = 'text' | 'json';

export interface EventContext {
  environment: string;
  release?: string;
  sha?: string;
  host?: string;
  /** In a rollout to several hosts: the host's name from the deploy config (and its role). */
  member?: string;
}

/** Deploy progress for the job log: readable lines, or one JSON object per event (`log-format: json`). */
export class EventLog {
  constructor(
    private readonly reporter: Reporter,
    private readonly format: LogFormat,
    readonly context: EventContext,
  ) {}

  info(event: string, message: string, fields: Record<string, unknown> = {}): void {
    this.reporter.info(this.line('info', event, message, fields));
  }

  warn(event: string, message: string, fields: Record<string, unknown> = {}): void {
    this.reporter.warning(this.line('warning', event, message, fields));
  }

  error(event: string, message: string, fields: Record<string, unknown> = {}): void {
    this.reporter.error(this.line('error', event, message, fields));
  }

  /** Streams a remote command's output line by line, prefixed (text) or wrapped (json). */
  stream(event: string): (chunk: string) => void {
    const lines = lineSplitter((line) => {
      if (line.trim()) this.info(event, line);
    });
    return (chunk) => lines.push(chunk);
  }

  private line(level: string, event: string, message: string, fields: Record<string, unknown>): string {
    if (this.format === 'json') {
      return JSON.stringify({
        time: new Date().toISOString(),
        level,
        event,
        message,
        ...this.context,
        ...fields,
      });
    }
    const extra = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    const where = this.context.member
      ? `${this.context.environment} ${this.context.member}`
      : this.context.environment;
    return `[${where}] ${event}: ${message}${extra ? ` (${extra})` : ''}`;
  }
}
