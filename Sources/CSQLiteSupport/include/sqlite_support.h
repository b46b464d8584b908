#ifndef S1_SQLITE_SUPPORT_H
#define S1_SQLITE_SUPPORT_H

/// Process-wide SQLite settings that only C can make (sqlite3_config is variadic).
/// Turns off SQLite's memory statistics, whose global mutex is taken on every allocation.
/// Must run before the first connection opens; returns an SQLite result code.
int s1_sqlite_configure(void);

#endif
