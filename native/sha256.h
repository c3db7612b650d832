#ifndef SLUICE_SHA256_H
#define SLUICE_SHA256_H
#endif
