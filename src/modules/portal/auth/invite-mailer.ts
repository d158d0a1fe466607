import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createTransport, Transporter } from 'nodemailer';
import { Config } from '../../../config/configuration';

/** Sends invitation and password-reset links through SMTP_URL; without it the admin copies invitation links from the page, and no reset link can be sent. */
@Injectable()
export class InviteMailer {
  private readonly logger = new Logger(InviteMailer.name);
  private readonly transport: Transporter | null;
  private readonly from: string;

  constructor(config: ConfigService<Config, true>) {
    const { smtpUrl } = config.get('portal', { infer: true });
    this.transport = smtpUrl ? createTransport(smtpUrl) : null;
    this.from = `Afflux <no-reply@${new URL(config.get('app', { infer: true }).publicBaseUrl).hostname}>`;
  }

  get enabled(): boolean {
    return this.transport !== null;
  }

  /** True when the mail went out; a failure is logged and the link stays on the admin's page. */
  async sendInvite(to: string, link: string, principalName: string, inviter: string): Promise<boolean> {
    if (!this.transport) return false;
    try {
      await this.transport.sendMail({
        from: this.from,
        to,
        subject: `You are invited to ${principalName} on Afflux`,
        text: `${inviter} invited you to sign in to the Afflux portal for ${principalName}.\n\nChoose your password here (the link works once, for 7 days):\n${link}\n`,
      });
      return true;
    } catch (error) {
      this.logger.warn(`invitation mail to a user of ${principalName} not sent: ${(error as Error).message}`);
      return false;
    }
  }

  /** True when the mail went out; a failure is logged. */
  async sendPasswordReset(to: string, link: string): Promise<boolean> {
    if (!this.transport) return false;
    try {
      await this.transport.sendMail({
        from: this.from,
        to,
        subject: 'Choose a new Afflux password',
        text: `Someone, probably you, asked to reset the password of your Afflux portal account.\n\nChoose a new password here (the link works once, for one hour):\n${link}\n\nIf you did not ask, ignore this mail: your password stays as it is.\n`,
      });
      return true;
    } catch (error) {
      this.logger.warn(`password reset mail not sent: ${(error as Error).message}`);
      return false;
    }
  }
}
