#include <stdio.h>
int main(void) { puts("ezlb " EZLB_VERSION); return 0; }
