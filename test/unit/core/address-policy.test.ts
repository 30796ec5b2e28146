import { describe, expect, it } from 'vitest';
import {
  checkAddress,
  checkHostName,
  checkUrl,
  formatIPv4,
  hostAllowed,
  hostPortOf,
  parseIPv4,
  parseIPv6,
  type SafeFetchPolicy,
} from '#core/address-policy.ts';

const deployed: SafeFetchPolicy = { allowHttp: false };
const local: SafeFetchPolicy = { allowHttp: true, exemptHostPorts: ['127.0.0.1:4599', '[::1]:4600', 'localhost:4601'] };

/** Hostile URLs: each must be refused in a deployed stack, with the words a person would look for. */
const HOSTILE: [url: string, why: RegExp][] = [
  // loopback, every notation the WHATWG parser normalises
  ['https://127.0.0.1/rec.mp3', /loopback/],
  ['https://127.1/', /loopback/],
  ['https://127.0.1/', /loopback/],
  ['https://2130706433/', /loopback/],
  ['https://0x7f000001/', /loopback/],
  ['https://0x7f.0x0.0x0.0x1/', /loopback/],
  ['https://0x7f.1/', /loopback/],
  ['https://0177.0.0.1/', /loopback/],
  ['https://0177.1/', /loopback/],
  ['https://017700000001/', /loopback/],
  ['https://127.000.000.001/', /loopback/],
  ['https://127.0.0.1./', /loopback/],
  ['https://１２７.０.０.１/', /loopback/],
  ['https:\\\\127.0.0.1\\rec.mp3', /loopback/],
  ['https:/127.0.0.1/rec.mp3', /loopback/],
  ['https://127.0.0.\t1/', /loopback/],
  ['https://localhost/', /internal host name/],
  ['HTTPS://LOCALHOST./', /internal host name/],
  ['https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/', /internal host name/],
  ['https://recordings.localhost/', /internal host name/],
  ['https://[::1]/', /loopback/],
  ['https://[0:0:0:0:0:0:0:1]/', /loopback/],
  // IPv4 inside IPv6
  ['https://[::ffff:127.0.0.1]/', /IPv4-mapped/],
  ['https://[::ffff:7f00:1]/', /IPv4-mapped/],
  ['https://[::ffff:a00:1]/', /IPv4-mapped/],
  ['https://[::127.0.0.1]/', /IPv4-compatible/],
  ['https://[::ffff:0:127.0.0.1]/', /IPv4-translated/],
  ['https://[64:ff9b::127.0.0.1]/', /NAT64 .*loopback/],
  ['https://[64:ff9b::a9fe:a9fe]/', /NAT64 .*metadata/],
  ['https://[64:ff9b:1::a00:1]/', /local-use NAT64/],
  ['https://[2002:7f00:1::]/', /6to4 .*loopback/],
  ['https://[2002:c0a8:101::1]/', /6to4 .*private/],
  // private networks
  ['https://10.0.0.1/', /private/],
  ['https://10.1/', /private/],
  ['https://167772161/', /private/],
  ['https://172.16.0.1/', /private/],
  ['https://172.31.255.255/', /private/],
  ['https://192.168.1.1/', /private/],
  ['https://0xc0a80101/', /private/],
  ['https://0300.0250.1.1/', /private/],
  ['https://[fd12:3456::1]/', /unique local/],
  ['https://[fe80::1]/', /link-local/],
  ['https://[fec0::1]/', /site-local/],
  // cloud metadata
  ['https://169.254.169.254/latest/meta-data/iam/security-credentials/', /metadata/],
  ['https://0xa9fea9fe/', /metadata/],
  ['https://2852039166/', /metadata/],
  ['https://0251.0376.0251.0376/', /metadata/],
  ['https://169.254.43518/', /metadata/],
  ['https://[fd00:ec2::254]/latest/meta-data/', /metadata/],
  ['https://[::ffff:169.254.169.254]/', /IPv4-mapped/],
  ['https://169.254.170.2/v2/credentials', /metadata/],
  ['https://169.254.1.1/', /link-local/],
  ['https://100.100.100.200/latest/meta-data/', /metadata/],
  ['https://metadata.google.internal/computeMetadata/v1/', /internal host name/],
  ['https://instance-data.ec2.internal/', /internal host name/],
  // CGNAT, multicast, broadcast, unspecified, reserved
  ['https://100.64.0.1/', /carrier-grade NAT/],
  ['https://100.127.255.254/', /carrier-grade NAT/],
  ['https://224.0.0.1/', /multicast/],
  ['https://239.255.255.250/', /multicast/],
  ['https://[ff02::1]/', /multicast/],
  ['https://255.255.255.255/', /broadcast/],
  ['https://240.0.0.1/', /reserved/],
  ['https://0.0.0.0/', /unspecified/],
  ['https://0/', /unspecified/],
  ['https://0x.0x.0x.0x/', /unspecified/],
  ['https://[::]/', /unspecified/],
  ['https://198.18.0.1/', /benchmarking/],
  ['https://192.0.2.10/', /documentation/],
  ['https://[2001:db8::1]/', /documentation/],
  ['https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', /Teredo/],
  ['https://[100::1]/', /discard/],
  // userinfo and syntax tricks
  ['https://recordings.example.com@127.0.0.1/rec.mp3', /credentials/],
  ['https://user:pass@recordings.example.com/rec.mp3', /credentials/],
  ['https://127.0.0.1:443@evil.example.com/', /credentials/],
  ['https://127.0.0.1%2f@recordings.example.com/', /credentials/],
  ['https://127.0.0.1#@recordings.example.com/', /loopback/],
  ['https://recordings.example.com%40127.0.0.1/', /not a valid URL/],
  ['https://[::1%25lo]/', /not a valid URL/],
  ['https://1.2.3.4.5/', /not a valid URL/],
  ['recordings.example.com/rec.mp3', /not a valid URL/],
  // names that stay inside the network
  ['https://nas/rec.mp3', /single-label/],
  ['https://printer.local/', /internal host name/],
  ['https://db.internal/', /internal host name/],
  ['https://router.home.arpa/', /internal host name/],
  // other schemes
  ['http://recordings.example.com/rec.mp3', /scheme is not allowed/],
  ['file:///etc/passwd', /scheme is not allowed/],
  ['ftp://recordings.example.com/rec.mp3', /scheme is not allowed/],
  ['gopher://127.0.0.1:6379/_INFO', /scheme is not allowed/],
  ['dict://127.0.0.1:11211/stat', /scheme is not allowed/],
  ['ldap://recordings.example.com/', /scheme is not allowed/],
  ['data:audio/mpeg;base64,SUQz', /scheme is not allowed/],
  ['javascript:alert(1)', /scheme is not allowed/],
  ['jar:http://recordings.example.com!/', /scheme is not allowed/],
  ['ws://recordings.example.com/', /scheme is not allowed/],
];

/** Public URLs a provider really sends: each must pass. */
const PUBLIC = [
  'https://recordings.example.com/call_abc123.mp3?token=abc',
  'https://s3.eu-west-1.amazonaws.com/hipcall-records/2483a75a.mp3?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604800',
  'https://storage.example.com/recordings/693bff62619c51fac21acf50/call_recording.ogg',
  'https://use.hipcall.com.tr/api/v3/calls/2483a75a',
  'https://recordings.example.com:8443/rec.mp3',
  'https://8.8.8.8/rec.mp3',
  'https://1.1.1.1/',
  'https://93.184.215.14/',
  'https://11.0.0.1/',
  'https://172.15.255.255/',
  'https://172.32.0.1/',
  'https://100.63.255.255/',
  'https://100.128.0.1/',
  'https://169.255.0.1/',
  'https://192.169.0.1/',
  'https://223.255.255.255/',
  'https://[2606:4700:4700::1111]/',
  'https://[2001:4860:4860::8888]/',
  'https://[64:ff9b::808:808]/',
  'https://[2002:808:808::1]/',
];

describe('checkUrl', () => {
  it(`refuses all ${HOSTILE.length} hostile URLs in a deployed stack, each with a reason`, () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(40);
    for (const [url, why] of HOSTILE) {
      const reason = checkUrl(url, deployed);
      expect(reason, url).not.toBeNull();
      expect(reason, url).toMatch(why);
    }
  });

  it('lets every public URL through', () => {
    for (const url of PUBLIC) expect(checkUrl(url, deployed), url).toBeNull();
  });

  it('accepts http only when the policy allows it (local mode), and still applies the address rules', () => {
    expect(checkUrl('http://recordings.example.com/rec.mp3', local)).toBeNull();
    expect(checkUrl('http://127.0.0.1:4500/rec.mp3', local)).toMatch(/loopback/);
    expect(checkUrl('http://169.254.169.254/', local)).toMatch(/metadata/);
  });

  it('exempts exactly the listed host:port pairs and nothing else', () => {
    expect(checkUrl('http://127.0.0.1:4599/rec.mp3', local)).toBeNull();
    expect(checkUrl('http://[::1]:4600/rec.mp3', local)).toBeNull();
    expect(checkUrl('http://LOCALHOST:4601/rec.mp3', local)).toBeNull();
    expect(checkUrl('http://127.0.0.1:4598/rec.mp3', local)).toMatch(/loopback/);
    expect(checkUrl('http://0x7f.1:4599/rec.mp3', local)).toBeNull();
    expect(checkUrl('http://127.0.0.2:4599/rec.mp3', local)).toMatch(/loopback/);
    expect(checkUrl('http://localhost:4599/rec.mp3', local)).toMatch(/internal host name/);
  });

  it('never exempts credentials or other schemes, even for an exempt pair', () => {
    expect(checkUrl('http://u:p@127.0.0.1:4599/rec.mp3', local)).toMatch(/credentials/);
    expect(checkUrl('ftp://127.0.0.1:4599/rec.mp3', local)).toMatch(/scheme/);
  });

  it('limits a source with a host allowlist to those hosts', () => {
    const policy: SafeFetchPolicy = { allowHttp: false, hostAllowlist: ['*.amazonaws.com', 'media.hipcall.com'] };
    expect(checkUrl('https://hipcall-records.s3.eu-west-1.amazonaws.com/a.mp3', policy)).toBeNull();
    expect(checkUrl('https://media.hipcall.com/a.mp3', policy)).toBeNull();
    expect(checkUrl('https://amazonaws.com/a.mp3', policy)).toMatch(/mediaHostAllowlist/);
    expect(checkUrl('https://evil-amazonaws.com/a.mp3', policy)).toMatch(/mediaHostAllowlist/);
    expect(checkUrl('https://media.hipcall.com.evil.example/a.mp3', policy)).toMatch(/mediaHostAllowlist/);
    expect(checkUrl('https://8.8.8.8/a.mp3', policy)).toMatch(/mediaHostAllowlist/);
  });

  it('refuses a URL longer than 8 KiB', () => {
    expect(checkUrl(`https://recordings.example.com/${'a'.repeat(9000)}`, deployed)).toMatch(/longer than/);
  });
});

describe('parseIPv4', () => {
  const same: [string, string][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0X7F.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['0x7f.0.0.0x1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0x', '0.0.0.0'],
    ['10.1', '10.0.0.1'],
    ['192.168.257', '192.168.1.1'],
    ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254'],
    ['4294967295', '255.255.255.255'],
  ];
  it('reads every notation the WHATWG URL parser reads, to the same address', () => {
    for (const [text, dotted] of same) {
      const n = parseIPv4(text);
      expect(n, text).not.toBeNull();
      expect(formatIPv4(n!), text).toBe(dotted);
      expect(new URL(`http://${text}/`).hostname, text).toBe(dotted);
    }
  });

  it('rejects what is not an IPv4 address', () => {
    for (const text of [
      '',
      '256.0.0.1',
      '1.2.3.4.5',
      '08',
      '1.2.3.09',
      '0x1g',
      '4294967296',
      '1.256.1',
      'example.com',
      '1..2',
      '.1.2.3',
      '::1',
    ]) {
      expect(parseIPv4(text), text).toBeNull();
    }
  });
});

describe('parseIPv6', () => {
  it('expands compressed forms, brackets and dotted tails', () => {
    expect(parseIPv6('::1')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6('[::1]')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIPv6('2001:db8::8a2e:370:7334')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0x8a2e, 0x370, 0x7334]);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('rejects malformed text and zone ids', () => {
    for (const text of ['', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'fe80::1%eth0', '::ffff:256.0.0.1', '::ffff:1.2.3', 'g::1']) {
      expect(parseIPv6(text), text).toBeNull();
    }
  });
});

describe('checkAddress', () => {
  it('refuses the addresses a DNS answer could point at inside the network', () => {
    const cases: [string, RegExp][] = [
      ['127.0.0.53', /loopback/],
      ['10.20.30.40', /private/],
      ['172.20.0.1', /private/],
      ['192.168.0.10', /private/],
      ['169.254.169.254', /instance metadata/],
      ['169.254.169.253', /DNS resolver/],
      ['fd00:ec2::254', /instance metadata/],
      ['[fd00:ec2::254]', /instance metadata/],
      ['100.64.1.1', /carrier-grade/],
      ['0.0.0.0', /unspecified/],
      ['::', /unspecified/],
      ['::1', /loopback/],
      ['::ffff:10.0.0.1', /IPv4-mapped/],
      ['::ffff:8.8.8.8', /IPv4-mapped/],
      ['64:ff9b::10.0.0.1', /NAT64 .*private/],
      ['fe80::abcd', /link-local/],
      ['ff05::2', /multicast/],
      ['233.1.1.1', /multicast/],
      ['3fff::1', /documentation/],
      ['4000::1', /reserved/],
      ['not-an-ip', /not an IP address/],
    ];
    for (const [ip, why] of cases) expect(checkAddress(ip), ip).toMatch(why);
  });

  it('lets public addresses through', () => {
    for (const ip of [
      '8.8.8.8',
      '52.95.110.1',
      '3.5.140.2',
      '2606:4700:4700::1111',
      '2a05:d018::1',
      '64:ff9b::34.1.2.3',
      '2002:0808:0808::',
    ]) {
      expect(checkAddress(ip), ip).toBeNull();
    }
  });
});

describe('checkHostName', () => {
  it('refuses single-label and internal names before any lookup', () => {
    expect(checkHostName('nas')).toMatch(/single-label/);
    expect(checkHostName('Printer.Local.')).toMatch(/\.local/);
    expect(checkHostName('x.corp')).toMatch(/\.corp/);
    expect(checkHostName('1.0.0.127.in-addr.arpa')).toMatch(/in-addr\.arpa/);
    expect(checkHostName('recordings.example.com')).toBeNull();
  });
});

describe('hostAllowed and hostPortOf', () => {
  it('matches exact names and subdomains of a wildcard, not look-alikes', () => {
    expect(hostAllowed('a.b.example.com', ['*.example.com'])).toBe(true);
    expect(hostAllowed('example.com', ['*.example.com'])).toBe(false);
    expect(hostAllowed('badexample.com', ['*.example.com'])).toBe(false);
    expect(hostAllowed('Media.Example.com.', ['media.example.com'])).toBe(true);
  });

  it('fills in default ports and keeps IPv6 brackets', () => {
    expect(hostPortOf(new URL('https://Example.com/x'))).toBe('example.com:443');
    expect(hostPortOf(new URL('http://127.0.0.1/x'))).toBe('127.0.0.1:80');
    expect(hostPortOf(new URL('http://[::1]:8080/x'))).toBe('[::1]:8080');
  });
});
