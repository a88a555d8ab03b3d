# @file reservation.pl
# @brief The Perl 5.36 twin of reservation.py (issue #11): an untouched private reservation
# larger than RAM + swap (overcommit mode 0 refuses the fork of such a process) and 200 MiB of
# written data; spawns by system, backticks and fork + exec, and forked workers that read the
# data, read zeros from never-written memory and write there. One line per step; the output is
# the same with and without the reservation.
#
# Usage: perl reservation.pl [--no-reserve]
#   --no-reserve: a small untouched region instead of the reservation (the reference run).
# Exit status 0 when every step worked, 1 when one failed, 77 when the reservation cannot be
# made here (not overcommit mode 0).
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);

my ($SYS_mmap, $SYS_mremap) = (9, 25);    # x86_64
my ($PROT_RW, $MAP_PRIVATE_ANON, $MREMAP_MAYMOVE) = (3, 0x22, 1);

sub meminfo_kb {
  my ($key) = @_;
  open(my $f, '<', '/proc/meminfo') or die "reservation.pl: /proc/meminfo: $!\n";
  while (<$f>) { return $1 if /^\Q$key\E:\s+(\d+)/ }
  die "reservation.pl: /proc/meminfo has no $key\n";
}

# One untouched private writable mapping of `total` bytes, grown in place in `step`s: overcommit
# mode 0 checks each mmap/mremap request on its own.
sub reserve {
  my ($total, $step) = @_;
  my $size = $step;
  my $addr = syscall($SYS_mmap, 0, $size, $PROT_RW, $MAP_PRIVATE_ANON, -1, 0);
  die "reservation.pl: mmap: $!\n" if $addr == -1;
  while ($size < $total) {
    $addr = syscall($SYS_mremap, $addr, $size, $size + $step, $MREMAP_MAYMOVE);
    die "reservation.pl: mremap: $!\n" if $addr == -1;
    $size += $step;
  }
  return ($addr, $size);
}

sub peek { my ($addr, $len) = @_; return unpack("P$len", pack("Q", $addr)) }

my $good = 1;
sub step {
  my ($name, $ok) = @_;
  print "$name: ", ($ok ? "ok" : "FAILED"), "\n";
  $good &&= $ok;
}

$| = 1;
my ($addr, $size);
if (grep { $_ eq '--no-reserve' } @ARGV) {
  ($addr, $size) = reserve(256 << 20, 256 << 20);
} else {
  open(my $m, '<', '/proc/sys/vm/overcommit_memory') or die "reservation.pl: overcommit_memory: $!\n";
  chomp(my $mode = <$m>);
  if ($mode ne '0') {
    print STDERR "reservation.pl: the reservation needs overcommit mode 0 (mode 2 refuses it, mode 1 forks it)\n";
    exit 77;
  }
  my $limit = (meminfo_kb('MemTotal') + meminfo_kb('SwapTotal')) * 1024;
  ($addr, $size) = reserve($limit + (1 << 30), int($limit / 2));
}
# 200 MiB of written data, a pattern the workers check.
my $data = join('', map { chr } 0 .. 255) x (200 * 4096);
my $digest = sha256_hex($data);

my $status = system('/bin/echo', 'its child ran');
step('system (its child ran above)', $status == 0);

my $out = `/bin/echo its child ran`;
chomp $out;
step("backticks ($out)", $? == 0 && $out eq 'its child ran');

my $pid = fork() // die "reservation.pl: fork: $!\n";
if ($pid == 0) { exec('/bin/echo', 'its child ran') or exit 127 }
waitpid($pid, 0);
step('fork + exec (its child ran above)', $? == 0);

# A worker that reads the written data.
pipe(my $r, my $w) or die "reservation.pl: pipe: $!\n";
$pid = fork() // die "reservation.pl: fork: $!\n";
if ($pid == 0) {
  close $r;
  print $w sha256_hex($data), substr($data, 4096 * 100 + 65, 1);
  close $w;
  exit 0;
}
close $w;
my $seen = do { local $/; <$r> };
close $r;
waitpid($pid, 0);
step('forked worker reads the written data', $? == 0 && $seen eq $digest . chr(65));

# A worker that reads never-written memory (zeros), and one that writes there.
my @offsets = (0, int($size / 3) & ~4095, int($size / 2) & ~4095, $size - 4096);
pipe($r, $w) or die "reservation.pl: pipe: $!\n";
$pid = fork() // die "reservation.pl: fork: $!\n";
if ($pid == 0) {
  close $r;
  my $zeros = !grep { peek($addr + $_, 64) ne ("\0" x 64) } @offsets;
  print $w ($zeros ? '1' : '0');
  close $w;
  exit 0;
}
close $w;
$seen = do { local $/; <$r> };
close $r;
waitpid($pid, 0);
step('forked worker reads zeros from never-written memory', $? == 0 && $seen eq '1');

$pid = fork() // die "reservation.pl: fork: $!\n";
if ($pid == 0) {
  # read(2) into never-written memory: the kernel writes "Z"s there for the worker.
  pipe(my $pr, my $pw) or exit 2;
  syswrite($pw, 'Z' x 4096) == 4096 or exit 2;
  my $n = syscall(0, fileno($pr), $addr + 4096, 4096);    # SYS_read
  exit($n == 4096 && peek($addr + 4096, 64) eq ('Z' x 64) ? 0 : 3);
}
waitpid($pid, 0);
step('forked worker writes never-written memory', $? == 0);
step('the parent still reads zeros there', peek($addr + 4096, 64) eq ("\0" x 64));
exit($good ? 0 : 1);
