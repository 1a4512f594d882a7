import * as core from '@actions/core';

export type LogFormat = 'text' | 'json';

export interface EventContext {
  environment: string;
  release?: string;
  sha?: string;
  host?: string;
}

/** Deploy progress for the job log: readable lines, or one JSON object per event (`log-format: json`). */
export class EventLog {
  constructor(
    private readonly format: LogFormat,
    readonly context: EventContext,
  ) {}

  info(event: string, message: string, fields: Record<string, unknown> = {}): void {
    core.info(this.line('info', event, message, fields));
  }

  warn(event: string, message: string, fields: Record<string, unknown> = {}): void {
    core.warning(this.line('warning', event, message, fields));
  }

  error(event: string, message: string, fields: Record<string, unknown> = {}): void {
    core.error(this.line('error', event, message, fields));
  }

  /** Streams a remote command's output line by line, prefixed (text) or wrapped (json). */
  stream(event: string): (chunk: string) => void {
    let buffered = '';
    return (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.info(event, line);
    };
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
    return `[${this.context.environment}] ${event}: ${message}${extra ? ` (${extra})` : ''}`;
  }
}
