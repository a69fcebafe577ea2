#ifndef SESSION_VAULT_CSODIUM_SHIM_H
#define SESSION_VAULT_CSODIUM_SHIM_H
#include <sodium.h>
#endif
