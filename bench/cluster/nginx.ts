import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { behindBalancer } from "../../test/support/cluster/gateway.js";
import { killOnExit, type Instance } from "../../test/support/cluster/instances.js";
import type { Balancer } from "../../test/support/cluster/run.js";
import { freePort } from "../../test/support/process.js";

const NGINX = "/usr/sbin/nginx";

/** Debian's nginx, installed when missing (another apt-get may hold the lock: wait for it). */
export function ensureNginx(): void {
  if (existsSync(NGINX)) return;
  const install = () =>
    spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=600", "install", "-y", "nginx"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    }).status;
  if (install() !== 0) {
    spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=600", "update"], { stdio: "inherit" });
    if (install() !== 0) throw new Error("could not install nginx (apt-get install -y nginx)");
  }
}

/** Round robin over the instances, for HTTP and WebSocket; each answer names its instance in X-Upstream. */
function configuration(dir: string, port: number, instances: readonly Instance[]): string {
  return `
${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream referrals {
${instances.map((instance) => `    server 127.0.0.1:${instance.port};`).join("\n")}
    keepalive 64;
  }
  map $http_upgrade $connection_upgrade { default upgrade; "" ""; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://referrals;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_connect_timeout 2s;
      proxy_read_timeout 1h;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`;
}

/** nginx in front of the instances, with a configuration of its own in `dir`, in the foreground. */
export async function startNginx(instances: readonly Instance[], dir: string): Promise<Balancer> {
  ensureNginx();
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, "nginx.conf"), configuration(dir, port, instances));
  const nginx: ChildProcess = spawn(NGINX, ["-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdio: "inherit",
  });
  killOnExit(nginx, "SIGTERM");
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      // not yet
    }
    if (nginx.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start; see ${dir}/error.log`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    gateway: behindBalancer(`http://127.0.0.1:${port}/graphql`),
    async stop() {
      if (nginx.exitCode !== null) return;
      const exited = once(nginx, "exit");
      nginx.kill("SIGTERM");
      await exited;
    },
  };
}
