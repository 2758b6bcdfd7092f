#!/usr/bin/perl
# Perl DBI with DBD::ODBC (Debian's libdbd-odbc-perl) against a live Recall
# cluster through the Recall ODBC driver, as tests/odbc/live.sh sets it up:
# connect, prepare/execute, placeholders with and without SQL types,
# bind_columns, type_info, table_info, column_info, primary/foreign keys,
# LongReadLen/LongTruncOk, transactions and errors.  Test::More prints TAP.
use strict;
use warnings;
use utf8;
use DBI qw(:sql_types);
use Test::More;
use Encode ();

my $dsn = $ENV{RECALL_TEST_DSN} || 'recall_test';
my $maria = ($ENV{RECALL_TEST_BACKEND} || '') eq 'mariadb';
my $engine = $maria ? ' ENGINE=InnoDB' : '';
my $t = "pl_$$";
my $child = "pl_${$}_child";

my $dbh = DBI->connect("dbi:ODBC:DSN=$dsn", 'app', 'app',
                       { RaiseError => 1, PrintError => 0, AutoCommit => 1 });
ok($dbh, 'connect');
like($dbh->get_info(17), $maria ? qr/^MariaDB$/ : qr/^SQLite$/, 'get_info(SQL_DBMS_NAME)');
is($dbh->get_info(6), 'libRecallODBC.so', 'get_info(SQL_DRIVER_NAME)');

$dbh->do("DROP TABLE IF EXISTS $child");
$dbh->do("DROP TABLE IF EXISTS $t");
$dbh->do("CREATE TABLE $t (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, amount DECIMAL(10,2), "
         . "body " . ($maria ? 'MEDIUMTEXT' : 'TEXT') . ", d DATE)$engine");
$dbh->do("CREATE TABLE $child (id INT PRIMARY KEY, pid INT, "
         . "FOREIGN KEY (pid) REFERENCES $t (id))$engine");

# prepare / execute with placeholders, typed and untyped.
my $ins = $dbh->prepare("INSERT INTO $t (id, name, amount, body, d) VALUES (?, ?, ?, ?, ?)");
is($ins->{NUM_OF_PARAMS}, 5, 'NUM_OF_PARAMS');
ok($ins->execute(1, 'one', '1.50', 'short', '2024-01-02'), 'execute with plain values');
$ins->bind_param(1, 2, SQL_INTEGER);
$ins->bind_param(2, "tw'o", SQL_VARCHAR);
$ins->bind_param(3, 2.25, SQL_DOUBLE);
$ins->bind_param(4, 'x' x 100000, SQL_LONGVARCHAR);
$ins->bind_param(5, '2024-02-03', SQL_TYPE_DATE);
ok($ins->execute, 'execute with bound typed parameters');
is($ins->rows, 1, 'rows after insert');
ok($ins->execute(3, "ü€😀", undef, undef, undef), 'execute with Unicode and NULLs');

# fetching
my $sel = $dbh->prepare("SELECT id, name, amount, d FROM $t ORDER BY id");
$sel->execute;
is($sel->{NUM_OF_FIELDS}, 4, 'NUM_OF_FIELDS');
is_deeply($sel->{NAME_lc}, [qw(id name amount d)], 'column names');
my ($id, $name, $amount, $d);
$sel->bind_columns(\$id, \$name, \$amount, \$d);
$sel->fetch;
is($id, 1, 'bind_columns id');
is($amount + 0, 1.5, 'bind_columns decimal');
is($d, '2024-01-02', 'bind_columns date');
$sel->fetch;
is($name, "tw'o", 'a quote in a bound value');
$sel->fetch;
# Without DBD::ODBC's Unicode build, SQL_C_CHAR data is UTF-8 bytes.
my $uname = $dbh->{odbc_has_unicode} ? $name : Encode::decode('UTF-8', $name);
is($uname, "ü€😀", 'Unicode round trip');
ok(!defined $amount, 'NULL is undef');
ok(!$sel->fetch, 'end of rows');

my $rows = $dbh->selectall_arrayref("SELECT id FROM $t WHERE amount > ? ORDER BY id", undef, 1);
is_deeply($rows, [[1], [2]], 'selectall_arrayref with a placeholder');

# LongReadLen / LongTruncOk
{
    local $dbh->{LongReadLen} = 1000;
    local $dbh->{LongTruncOk} = 0;
    my $s = $dbh->prepare("SELECT body FROM $t WHERE id = 2");
    $s->execute;
    my $r = eval { $s->fetchrow_arrayref };
    ok(!$r && $@, 'LongReadLen exceeded without LongTruncOk is an error');
    $s->finish;
    $dbh->{LongTruncOk} = 1; # statement handles take these when prepared
    $s = $dbh->prepare("SELECT body FROM $t WHERE id = 2");
    $s->execute;
    $r = $s->fetchrow_arrayref;
    # DBD::ODBC keeps the terminating NUL of a truncated long column (its
    # buffer is LongReadLen + 1 bytes and it returns all of them).
    (my $v = $r->[0]) =~ s/\0\z//;
    is($v, 'x' x 1000, 'LongTruncOk truncates to LongReadLen');
    $s->finish;
    $dbh->{LongReadLen} = 200000;
    $s = $dbh->prepare("SELECT body FROM $t WHERE id = 2");
    $s->execute;
    $r = $s->fetchrow_arrayref;
    is(length($r->[0]), 100000, 'a large LongReadLen reads the whole value');
    $s->finish;
}

# metadata
my $ti = $dbh->type_info_all;
ok(@$ti > 10, 'type_info_all lists types');
my @ts = $dbh->type_info(SQL_TYPE_TIMESTAMP);
ok(@ts >= 1, 'type_info(SQL_TYPE_TIMESTAMP)');
my $tables = $dbh->table_info(undef, undef, $t, 'TABLE')->fetchall_arrayref({});
is(scalar(@$tables), 1, 'table_info finds the table');
is($tables->[0]{TABLE_TYPE}, 'TABLE', 'table_info TABLE_TYPE');
my $cols = $dbh->column_info(undef, undef, $t, '%')->fetchall_arrayref({});
is_deeply([map { $_->{COLUMN_NAME} } @$cols], [qw(id name amount body d)], 'column_info columns in order');
is($cols->[1]{COLUMN_SIZE}, 40, 'column_info COLUMN_SIZE');
is($cols->[1]{NULLABLE}, 0, 'column_info NULLABLE');
is_deeply([$dbh->primary_key(undef, undef, $t)], ['id'], 'primary_key');
my $fk = $dbh->foreign_key_info(undef, undef, $t, undef, undef, undef)->fetchall_arrayref({});
is(scalar(@$fk), 1, 'foreign_key_info');
is(lc($fk->[0]{FKCOLUMN_NAME} // $fk->[0]{FK_COLUMN_NAME} // ''), 'pid', 'foreign key column');

# transactions
$dbh->{AutoCommit} = 0;
$dbh->do("INSERT INTO $t (id, name) VALUES (10, 'ten')");
$dbh->rollback;
is($dbh->selectrow_array("SELECT COUNT(*) FROM $t WHERE id = 10"), 0, 'rollback');
$dbh->do("INSERT INTO $t (id, name) VALUES (11, 'eleven')");
$dbh->commit;
$dbh->{AutoCommit} = 1;
is($dbh->selectrow_array("SELECT COUNT(*) FROM $t WHERE id = 11"), 1, 'commit');

# errors
eval { $dbh->do("INSERT INTO $t (id, name) VALUES (1, 'dup')") };
like($DBI::state, qr/^23/, 'duplicate key: SQLSTATE 23xxx');
like($DBI::errstr, qr/\[Recall\]/, 'messages carry [Recall]');
is($dbh->selectrow_array('SELECT 9'), 9, 'the connection stays usable');

$dbh->do("DROP TABLE $child");
$dbh->do("DROP TABLE $t");
$dbh->disconnect;
done_testing();
