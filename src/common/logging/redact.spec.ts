import { redactUrl, scrubSecrets } from './redact';

describe('log redaction', () => {
  it('replaces the values of secret and personal query parameters, keeping the rest', () => {
    expect(redactUrl('/postback?token=pbt_abc&goal=sale&txn_id=A1&Signature=x&api_key=k&ip=1.2.3.4&user_agent=Mozilla&ua=x&password=p&key=afx&amount=1.00')).toBe(
      '/postback?token=[redacted]&goal=sale&txn_id=A1&Signature=[redacted]&api_key=[redacted]&ip=[redacted]&user_agent=[redacted]&ua=[redacted]&password=[redacted]&key=[redacted]&amount=1.00',
    );
    expect(redactUrl('/x?access%5Ftoken=1&postback_token=2&client_secret=3&flag')).toBe('/x?access%5Ftoken=[redacted]&postback_token=[redacted]&client_secret=[redacted]&flag');
  });

  it('replaces token-like path segments (invitation links) but keeps ids', () => {
    const token = 'A'.repeat(43);
    expect(redactUrl(`/portal/invite/${token}?next=/portal`)).toBe('/portal/invite/[redacted]?next=/portal');
    expect(redactUrl('/v1/offers/6f1c7f0e-8f43-4a8e-9a53-0d8b7a3c2b11')).toBe('/v1/offers/6f1c7f0e-8f43-4a8e-9a53-0d8b7a3c2b11');
  });

  it('scrubs key and token shapes anywhere in a line', () => {
    expect(scrubSecrets('{"msg":"key afx_adm_abcdefghijklmnop and pbt_abcdefghijkl"}')).toBe('{"msg":"key afx_adm_[redacted] and pbt_[redacted]"}');
    expect(scrubSecrets('afx_adm_ short pbt_')).toBe('afx_adm_ short pbt_');
  });
});
