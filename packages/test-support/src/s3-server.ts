import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

/** The Python that has moto's server (moto[server]); override with DRKIT_TEST_PYTHON. */
export const S3_PYTHON = process.env.DRKIT_TEST_PYTHON ?? 'python3';

// moto's threaded server on a free port; it stops when its stdin closes, so it never outlives the tests.
const LAUNCHER = `
import json, sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(json.dumps({"port": server.get_host_and_port()[1]}), flush=True)
sys.stdin.read()
server.stop()
`;

/** Test credentials: moto accepts any; tests check that the secret never shows in output. */
export const S3_TEST_CREDENTIALS = {
  accessKeyId: 'AKIADRKITTEST0000001',
  secretAccessKey: `drkit-test-secret-${randomBytes(6).toString('hex')}`,
};

export interface RunningS3 {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  process: ChildProcess;
  /** Creates a bucket (moto needs names of 3+ characters). */
  createBucket(name: string): Promise<void>;
  /** Keys of the multipart uploads begun and neither completed nor aborted. */
  unfinishedUploads(bucket: string): Promise<string[]>;
  /** Every object key in the bucket (first 1000). */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  /** The raw bytes of an object. */
  getObject(bucket: string, key: string): Promise<Buffer>;
  /** The headers a GET of the object answers with (content-type, cache-control, …). */
  objectHeaders(bucket: string, key: string): Promise<Headers>;
  stop(): Promise<void>;
}

function xmlValues(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => decodeXml(m[1]!));
}

function decodeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

const AUTH =
  `AWS4-HMAC-SHA256 Credential=${S3_TEST_CREDENTIALS.accessKeyId}/20260101/us-east-1/s3/aws4_request, ` +
  `SignedHeaders=host, Signature=${'0'.repeat(64)}`;

const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/**
 * Starts an S3-compatible server (moto) on 127.0.0.1 for the tests. moto implements what the
 * tests must observe: multipart uploads with S3's 5 MiB minimum part size, AbortMultipartUpload,
 * ListMultipartUploads and ListObjectsV2 pagination.
 */
export async function startS3Server(): Promise<RunningS3> {
  const child = spawn(S3_PYTHON, ['-c', LAUNCHER], { stdio: ['pipe', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('no port within 20 s')), 20_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        new Error(
          `The S3 test server (moto) did not start with "${S3_PYTHON}": ${err.message}. ` +
            `${log.trim().split('\n').slice(-3).join(' | ')}\n` +
            "The S3 tests need moto's server: `python3 -m pip install 'moto[server]'` (or point " +
            'DRKIT_TEST_PYTHON at a Python that has it).',
        ),
      );
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`it exited with code ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch {
        fail(new Error(`unexpected output ${JSON.stringify(line)}`));
      }
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string): Promise<string> => {
    const res = await fetch(`${endpoint}${path}`, { method });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return text;
  };
  // moto does not check signatures, but serves private objects only to a request that carries one.
  const get = async (bucket: string, key: string): Promise<Response> => {
    const res = await fetch(`${endpoint}/${bucket}/${encodeKey(key)}`, { headers: { authorization: AUTH } });
    if (!res.ok) throw new Error(`GET ${bucket}/${key}: HTTP ${res.status}`);
    return res;
  };
  return {
    endpoint,
    port,
    process: child,
    async createBucket(name) {
      await call('PUT', `/${name}`);
    },
    async unfinishedUploads(bucket) {
      return xmlValues(await call('GET', `/${bucket}?uploads`), 'Key');
    },
    async listKeys(bucket, prefix = '') {
      return xmlValues(await call('GET', `/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`), 'Key');
    },
    async getObject(bucket, key) {
      return Buffer.from(await (await get(bucket, key)).arrayBuffer());
    },
    async objectHeaders(bucket, key) {
      const res = await get(bucket, key);
      await res.arrayBuffer();
      return res.headers;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}
