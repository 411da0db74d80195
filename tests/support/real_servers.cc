#include "tests/support/real_servers.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <functional>
#include <vector>

namespace joelclaw::testing {
namespace {

constexpr int kStartAttempts = 3;
constexpr std::chrono::seconds kStartTimeout{10};

std::string Address(int port) { return "127.0.0.1:" + std::to_string(port); }

// One config line per string.
std::string Lines(std::initializer_list<std::string> lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

// Runs a setup command, turning a failure into an error that shows its output.
Status Check(const std::vector<std::string>& argv) {
  CommandOutput out = RunCommand(argv, 30);
  if (out.exit_code == 0) return Status::Ok();
  std::string cmd;
  for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  return Status::Error(cmd + " exited " + std::to_string(out.exit_code) + ": " + out.out);
}

// Spawns argv_for(port) on a fresh free port until the port answers. FreePort()
// only says the port was free a moment ago, so a parallel test can take it
// first: the daemon then exits and another port is tried.
Result<std::unique_ptr<Subprocess>> StartOnFreePort(
    const std::function<std::vector<std::string>(int)>& argv_for,
    const std::function<std::string(int)>& log_for, int* port_out) {
  std::string last_log;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    int port = FreePort();
    std::vector<std::string> argv = argv_for(port);
    auto process = std::make_unique<Subprocess>(argv, log_for(port));
    if (!process->started()) {
      return Result<std::unique_ptr<Subprocess>>::Error("cannot start " + argv[0]);
    }
    bool up = WaitFor([&] { return !process->Running() || PortOpen(port); }, kStartTimeout);
    if (up && process->Running()) {
      *port_out = port;
      return process;
    }
    last_log = process->Log();
  }
  return Result<std::unique_ptr<Subprocess>>::Error("server did not start after " +
                                                    std::to_string(kStartAttempts) +
                                                    " attempts; last log: " + last_log);
}

}  // namespace

Result<std::unique_ptr<SshdServer>> StartSshd(TempDir& dir) {
  using R = Result<std::unique_ptr<SshdServer>>;
  const std::string sshd = "/usr/sbin/sshd";  // sshd refuses a relative path.
  if (access(sshd.c_str(), X_OK) != 0) return R::Error(sshd + " not installed (openssh-server)");
  // sshd checks that its privilege-separation directory exists at start.
  mkdir("/run/sshd", 0755);
  auto server = std::make_unique<SshdServer>();
  server->host_key_path = dir.File("host_key");
  server->client_key_path = dir.File("client_key");
  server->client_public_key_path = server->client_key_path + ".pub";
  server->authorized_keys_path = dir.File("authorized_keys");
  server->config_path = dir.File("sshd_config");
  server->known_hosts_path = dir.File("known_hosts");
  for (const std::string* key : {&server->host_key_path, &server->client_key_path}) {
    Status s =
        Check({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "joelclaw-test", "-f", *key});
    if (!s.ok()) return s;
  }
  WriteFileOrDie(server->authorized_keys_path, ReadFileOrDie(server->client_public_key_path), 0600);
  const std::string host_public_key = ReadFileOrDie(server->host_key_path + ".pub");
  auto process = StartOnFreePort(
      [&](int port) {
        WriteFileOrDie(server->config_path,
                       Lines({"Port " + std::to_string(port), "ListenAddress 127.0.0.1",
                              "HostKey " + server->host_key_path, "PidFile " + dir.File("sshd.pid"),
                              "UsePAM no", "StrictModes no",
                              "AuthorizedKeysFile " + server->authorized_keys_path,
                              "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                              "PermitRootLogin prohibit-password"}));
        return std::vector<std::string>{sshd, "-D", "-e", "-f", server->config_path};
      },
      [&](int) { return dir.File("sshd.log"); }, &server->port);
  if (!process.ok()) return process.status().WithPrefix("sshd");
  server->process = std::move(*process);
  server->address = Address(server->port);
  WriteFileOrDie(server->known_hosts_path,
                 "[127.0.0.1]:" + std::to_string(server->port) + " " + host_public_key);
  return server;
}

std::vector<std::string> SshdServer::SshArgv(const std::string& remote_command) const {
  const struct passwd* pw = getpwuid(getuid());
  // clang-format off
  return {"ssh", "-i", client_key_path, "-p", std::to_string(port),
          "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
          "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + known_hosts_path,
          "-o", "ConnectTimeout=5",
          std::string(pw != nullptr ? pw->pw_name : "root") + "@127.0.0.1", remote_command};
  // clang-format on
}

Result<std::unique_ptr<RedisServer>> StartRedis(TempDir& dir, const std::string& password) {
  using R = Result<std::unique_ptr<RedisServer>>;
  const std::string redis = FindProgram("redis-server");
  if (redis.empty()) return R::Error("redis-server not installed");
  auto server = std::make_unique<RedisServer>();
  server->password = password;
  auto process = StartOnFreePort(
      [&](int port) {
        // clang-format off
        std::vector<std::string> argv = {redis, "--port", std::to_string(port),
                                         "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", dir.path()};
        // clang-format on
        if (!password.empty()) {
          argv.push_back("--requirepass");
          argv.push_back(password);
        }
        return argv;
      },
      [&](int) { return dir.File("redis.log"); }, &server->port);
  if (!process.ok()) return process.status().WithPrefix("redis-server");
  server->process = std::move(*process);
  server->address = Address(server->port);
  return server;
}

Result<TestPki> MakeTestPki(TempDir& dir, int leaf_days) {
  TestPki pki;
  pki.ca_cert_path = dir.File("ca.pem");
  pki.ca_key_path = dir.File("ca.key");
  pki.leaf_cert_path = dir.File("leaf.pem");
  pki.leaf_key_path = dir.File("leaf.key");
  pki.expired_cert_path = dir.File("expired.pem");
  pki.expired_not_after = 1577923200;  // 2020-01-02T00:00:00Z
  pki.client_cert_path = dir.File("client.pem");
  pki.client_key_path = dir.File("client.key");
  const std::string client_csr = dir.File("client.csr");
  const std::string csr = dir.File("leaf.csr");
  const std::string ext = dir.File("openssl.cnf");
  const std::string db = dir.File("ca-db");
  mkdir(db.c_str(), 0700);
  WriteFileOrDie(db + "/index.txt", "");
  WriteFileOrDie(db + "/serial", "1000\n");
  WriteFileOrDie(
      ext,
      Lines({"[ca]", "default_ca = test_ca", "[test_ca]", "database = " + db + "/index.txt",
             "new_certs_dir = " + db, "serial = " + db + "/serial", "default_md = sha256",
             "policy = any", "unique_subject = no", "[any]", "commonName = supplied", "[leaf_ext]",
             "subjectAltName = DNS:" + std::string(kTestServerName) + ",IP:127.0.0.1",
             "[client_ext]", "extendedKeyUsage = clientAuth"}));
  const std::string ec = "ec_paramgen_curve:prime256v1";
  // clang-format off
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", ec, "-nodes",
       "-keyout", pki.ca_key_path, "-out", pki.ca_cert_path,
       "-days", "3650", "-subj", "/CN=joelclaw test CA"},
      {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", ec, "-nodes",
       "-keyout", pki.leaf_key_path, "-out", csr,
       "-subj", std::string("/CN=") + kTestServerName},
      {"openssl", "x509", "-req", "-in", csr,
       "-CA", pki.ca_cert_path, "-CAkey", pki.ca_key_path, "-set_serial", "1",
       "-days", std::to_string(leaf_days),
       "-extfile", ext, "-extensions", "leaf_ext", "-out", pki.leaf_cert_path},
      // `x509 -days` cannot date a certificate in the past on every OpenSSL
      // 3.x; `ca -startdate/-enddate` can, everywhere.
      {"openssl", "ca", "-batch", "-config", ext, "-in", csr,
       "-cert", pki.ca_cert_path, "-keyfile", pki.ca_key_path,
       "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
       "-extensions", "leaf_ext", "-notext", "-out", pki.expired_cert_path},
      {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", ec, "-nodes",
       "-keyout", pki.client_key_path, "-out", client_csr,
       "-subj", "/O=system:masters/CN=admin"},
      {"openssl", "x509", "-req", "-in", client_csr,
       "-CA", pki.ca_cert_path, "-CAkey", pki.ca_key_path, "-set_serial", "2",
       "-days", "365", "-extfile", ext, "-extensions", "client_ext",
       "-out", pki.client_cert_path},
  };
  // clang-format on
  for (const auto& argv : steps) {
    Status s = Check(argv);
    if (!s.ok()) return s;
  }
  return pki;
}

Result<double> CertNotAfter(const std::string& cert_path) {
  CommandOutput out = RunCommand({"openssl", "x509", "-enddate", "-noout", "-in", cert_path});
  const std::string prefix = "notAfter=";
  if (out.exit_code != 0 || out.out.rfind(prefix, 0) != 0) {
    return Result<double>::Error("openssl x509 -enddate failed: " + out.out);
  }
  // "notAfter=Dec  3 17:32:57 2026 GMT"
  struct tm tm = {};
  const char* end = strptime(out.out.c_str() + prefix.size(), "%b %d %H:%M:%S %Y GMT", &tm);
  if (end == nullptr) return Result<double>::Error("cannot parse " + out.out);
  return static_cast<double>(timegm(&tm));
}

Result<std::unique_ptr<TlsServer>> StartTlsServer(TempDir& dir, const std::string& cert_path,
                                                  const std::string& key_path) {
  auto server = std::make_unique<TlsServer>();
  auto process = StartOnFreePort(
      [&](int port) {
        return std::vector<std::string>{"openssl", "s_server", "-accept", Address(port),
                                        "-cert", cert_path, "-key", key_path, "-www", "-quiet"};
      },
      [&](int port) { return dir.File("s_server-" + std::to_string(port) + ".log"); },
      &server->port);
  if (!process.ok()) return process.status().WithPrefix("openssl s_server");
  server->process = std::move(*process);
  server->address = Address(server->port);
  return server;
}

}  // namespace joelclaw::testing
