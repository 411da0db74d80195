// joelclaw_exporter: everything lives in the core library (exporter/cli.h).
#include "exporter/cli.h"

int main(int argc, char** argv) { return joelclaw::RunMain(argc, argv); }
