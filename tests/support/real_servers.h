#pragma once

#include <memory>
#include <string>
#include <vector>

#include "exporter/status.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {

/// Real daemons (sshd, redis-server, openssl s_server) started by a test on
/// 127.0.0.1 and a free port, with their config and data under a TempDir.
/// Each is killed (its process group, SIGKILL) when the returned object is
/// destroyed; keep the TempDir alive at least as long. Starting waits until
/// the port accepts connections and retries on another port when the first
/// one was taken meanwhile. Not thread-safe; one owner.

/// A running sshd that accepts the generated client key for the current
/// user (root on the test machines).
struct SshdServer {
  int port = 0;
  std::string address;          ///< "127.0.0.1:PORT".
  std::string config_path;      ///< The sshd_config it runs with.
  std::string host_key_path;    ///< Private host key; `.pub` beside it.
  std::string client_key_path;  ///< Private client key, no passphrase.
  std::string client_public_key_path;
  std::string authorized_keys_path;
  /// A known_hosts file naming "[127.0.0.1]:PORT" with the host key, for
  /// `ssh -o UserKnownHostsFile=… -o StrictHostKeyChecking=yes`.
  std::string known_hosts_path;
  std::unique_ptr<Subprocess> process;  ///< Log: dir/sshd.log.

  /// argv for the OpenSSH client to run `remote_command` here as the current
  /// user with the client key, strict host key checking against
  /// known_hosts_path and BatchMode (never prompts).
  std::vector<std::string> SshArgv(const std::string& remote_command) const;
};

/// Generates host and client ed25519 keys with ssh-keygen, writes a minimal
/// sshd_config and runs `/usr/sbin/sshd -D -e -f CONFIG`. Creates the
/// privilege-separation directory /run/sshd when missing (needs root).
Result<std::unique_ptr<SshdServer>> StartSshd(TempDir& dir);

/// A running redis-server with no persistence.
struct RedisServer {
  int port = 0;
  std::string address;                  ///< "127.0.0.1:PORT".
  std::string password;                 ///< "" when none is required.
  std::unique_ptr<Subprocess> process;  ///< Log: dir/redis.log.
};

/// Runs `redis-server --port N --bind 127.0.0.1 --save "" --appendonly no
/// --dir DIR`, plus `--requirepass PASSWORD` when `password` is not empty.
Result<std::unique_ptr<RedisServer>> StartRedis(TempDir& dir, const std::string& password = "");

/// A test CA and certificates it issued, made with the openssl CLI. Every
/// leaf has subjectAltName DNS:panda.test and IP:127.0.0.1.
struct TestPki {
  std::string ca_cert_path;  ///< PEM; the trust anchor for clients.
  std::string ca_key_path;
  std::string leaf_cert_path;     ///< Valid from now for `leaf_days` days.
  std::string leaf_key_path;      ///< Key of both leaves.
  std::string expired_cert_path;  ///< Valid 2020-01-01 to 2020-01-02 only.
  /// A client certificate (CN=admin, O=system:masters, clientAuth) and its
  /// key, as in a Talos admin kubeconfig.
  std::string client_cert_path;
  std::string client_key_path;
  double expired_not_after = 0;   ///< 2020-01-02T00:00:00Z, Unix seconds.
};

inline constexpr char kTestServerName[] = "panda.test";

/// Creates the CA, a leaf valid for `leaf_days` days, an expired leaf
/// (through `openssl ca -startdate/-enddate`) and a client certificate in
/// `dir`.
Result<TestPki> MakeTestPki(TempDir& dir, int leaf_days = 10);

/// The notAfter of a PEM certificate in Unix seconds, as
/// `openssl x509 -enddate -noout` prints it.
Result<double> CertNotAfter(const std::string& cert_path);

/// A running TLS server (`openssl s_server -www`) answering every handshake
/// with `cert_path`/`key_path`, one connection at a time.
struct TlsServer {
  int port = 0;
  std::string address;                  ///< "127.0.0.1:PORT".
  std::unique_ptr<Subprocess> process;  ///< Log: dir/s_server-PORT.log.
};

Result<std::unique_ptr<TlsServer>> StartTlsServer(TempDir& dir, const std::string& cert_path,
                                                  const std::string& key_path);

}  // namespace joelclaw::testing
