import nodemailer from 'nodemailer';

export interface MailMessage {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Stable across retries, so a mailbox can tell a resend from a new message. */
  readonly messageId: string;
}

export interface MailReceipt {
  readonly response: string;
}

/** An SMTP failure with the server's reply code when there was one. */
export class MailError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
    this.name = 'MailError';
  }
}

export interface Mailer {
  send(message: MailMessage): Promise<MailReceipt>;
  close(): void;
}

/** nodemailer over SMTP_URL, with every wait bounded so a stuck server cannot hold a delivery. */
export function createMailer(smtpUrl: string, from: string, timeoutMs: number): Mailer {
  // Settings in the URL's query win over these defaults.
  const transport = nodemailer.createTransport({ url: smtpUrl, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs }, { from });
  return {
    async send(message) {
      try {
        const info = await transport.sendMail({
          to: [...message.to],
          subject: message.subject,
          text: message.text,
          html: message.html,
          messageId: message.messageId,
        });
        return { response: String(info.response ?? '') };
      } catch (error) {
        const err = error as Error & { responseCode?: number; response?: string };
        throw new MailError(err.response ? `SMTP: ${err.response}` : `SMTP: ${err.message}`, err.responseCode);
      }
    },
    close: () => transport.close(),
  };
}
