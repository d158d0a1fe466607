import { compileUrlTemplate, fillUrlTemplate } from './url-template';

describe('URL templates', () => {
  const values = { click_id: 'c1', affiliate_id: 'a/1', offer_id: 7, sub1: 'x&y=z#f', sub2: null, sub3: undefined };

  it('fills each macro with its URL-encoded value, absent ones with nothing', () => {
    const template = 'https://shop.example/{offer_id}/p?cid={click_id}&aff={affiliate_id}&s1={sub1}&s2={sub2}&s3={sub3}';
    expect(fillUrlTemplate(template, values)).toBe('https://shop.example/7/p?cid=c1&aff=a%2F1&s1=x%26y%3Dz%23f&s2=&s3=');
  });

  it('fills a compiled template the same way every time, macros at either end or repeated included', () => {
    const fill = compileUrlTemplate('{click_id}https://shop.example/?a={click_id}{click_id}&b={sub1}');
    expect(fill(values)).toBe('c1https://shop.example/?a=c1c1&b=x%26y%3Dz%23f');
    expect(fill({ ...values, click_id: 'c2' })).toBe('c2https://shop.example/?a=c2c2&b=x%26y%3Dz%23f');
    expect(compileUrlTemplate('https://shop.example/plain')(values)).toBe('https://shop.example/plain');
  });
});
