#include <sqlite3.h>
#include "sqlite_support.h"

int s1_sqlite_configure(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
