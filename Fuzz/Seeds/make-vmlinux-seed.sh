#!/bin/bash
# Makes Fuzz/Seeds/vmlinux/tiny-vmlinux: a small x86-64 ELF executable linked where the
# kernel is (0xffffffff81000000), with .symtab and DWARF for the names VmlinuxTarget looks
# up (struct list_head, task_struct, pt_regs, gate_desc, init_task, linux_banner, idt_table,
# PG_head) and the symbols LocatorTarget places the kernel with (_text, init_top_pgt,
# asm_exc_divide_error). A few KB, so libFuzzer can mutate all of it; the real vmlinux is 300 MB.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
t=$(mktemp -d)
trap 'rm -rf -- "$t"' EXIT
cat >"$t/tiny.c" <<'C'
struct list_head { struct list_head *next, *prev; };
struct pt_regs { unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di,
                 orig_ax, ip, cs, flags, sp, ss; };
struct gate_struct { unsigned short offset_low, segment; unsigned short bits; unsigned short offset_middle;
                     unsigned int offset_high, reserved; };
typedef struct gate_struct gate_desc;
enum pageflags { PG_locked, PG_referenced, PG_head = 6 };
struct task_struct {
  unsigned int __state;
  union { int anon_a; long anon_b; };
  struct list_head tasks;
  unsigned int flags : 3, dead : 1;
  char comm[16];
  struct pt_regs *regs;
  enum pageflags pf;
};
struct task_struct init_task = { .comm = "swapper/0" };
const char linux_banner[] = "Linux version 6.12.0-fuzz (kdig) #1 SMP";
gate_desc idt_table[256];
unsigned long init_top_pgt[512] __attribute__((aligned(4096)));
void _text(void) {}
void asm_exc_divide_error(void) {}
C
gcc -g -O0 -c -mcmodel=kernel -fno-pic -fno-asynchronous-unwind-tables -o "$t/tiny.o" "$t/tiny.c"
ld -static -nostdlib -e _text -Ttext=0xffffffff81000000 --build-id=sha1 -o "$t/tiny-vmlinux" "$t/tiny.o"
mkdir -p vmlinux
cp "$t/tiny-vmlinux" vmlinux/tiny-vmlinux
ls -l vmlinux/tiny-vmlinux
