#pragma once

#include <memory>
#include <string>

#include "tests/support/loopback_http_server.h"
#include "tests/support/real_servers.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {

/// A fake Kubernetes API server for the kubernetes collector's tests: a TLS
/// LoopbackHttpServer with the leaf certificate of `pki`, accepting client
/// certificates of its CA or "Authorization: Bearer `token`" (else 401 with
/// a Status body, like kube-apiserver), and answering the four list
/// requests of namespace joelclaw with the fixtures in
/// tests/testdata/kubernetes/ (shaped like `kubectl get --raw` output).
/// Check ok() on the result.
std::unique_ptr<LoopbackHttpServer> StartFakeKubeApi(const TestPki& pki, const std::string& token);

/// Writes a kubeconfig the way `talosctl kubeconfig` does (context
/// admin@joelclaw; CA, client certificate and key inline as base64 `-data`
/// from `pki`) for `server`, and returns its path in `dir`.
std::string WriteTalosKubeconfig(TempDir& dir, const std::string& server, const TestPki& pki);

}  // namespace joelclaw::testing
