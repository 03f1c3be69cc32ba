#include <lzo/lzo1x.h>

/* lzo_init() is a macro; Swift cannot call it. */
static inline int kdig_lzo_init(void) { return lzo_init(); }
