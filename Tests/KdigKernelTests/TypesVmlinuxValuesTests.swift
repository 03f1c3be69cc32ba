// Golden output: gdb 13.1 on the Debian 6.12.107 vmlinux (no dump: values are the file's
// initialised data, .bss reads as zeros), `set print pretty on`, and `set output-radix 16`
// for the hex cases (`p/x` for init_task.flags). kdig evaluates the same expressions with
// DWARFTypes, the file's ELF symbols and bytes, and must print exactly the same text.

import KdigAnalyzers
import KdigBinary
import KdigKernel
import Testing

@Suite struct TypesVmlinuxValuesTests {
  static let golden: [(expression: String, hex: Bool, gdb: String)] = [
    (
      "init_uts_ns", false,
      #"""
      {
        name = {
          sysname = "Linux", '\000' <repeats 59 times>,
          nodename = "(none)", '\000' <repeats 58 times>,
          release = "6.12.107+deb12-cloud-amd64", '\000' <repeats 38 times>,
          version = "#1 SMP PREEMPT_DYNAMIC Debian 6.12.107-1~deb12u1 (2026-09-10)\000\000\000",
          machine = "x86_64", '\000' <repeats 58 times>,
          domainname = "(none)", '\000' <repeats 58 times>
        },
        user_ns = 0xffffffff82c4c440 <init_user_ns>,
        ucounts = 0x0 <fixed_percpu_data>,
        ns = {
          stashed = 0x0 <fixed_percpu_data>,
          ops = 0xffffffff820288c0 <utsns_operations>,
          inum = 4026531838,
          count = {
            refs = {
              counter = 2
            }
          }
        }
      }
      """#
    ),
    (
      "init_mm.pgd", false,
      #"""
      (pgd_t *) 0xffffffff82c22000 <init_top_pgt>
      """#
    ),
    (
      "&init_mm", false,
      #"""
      (struct mm_struct *) 0xffffffff82d68d80 <init_mm>
      """#
    ),
    (
      "init_mm.mmap_base", false,
      #"""
      0
      """#
    ),
    (
      "init_task.comm", false,
      #"""
      "swapper\000\000\000\000\000\000\000\000"
      """#
    ),
    (
      "init_task.pid", false,
      #"""
      0
      """#
    ),
    (
      "idt_table[3]", false,
      #"""
      {
        offset_low = 0,
        segment = 0,
        bits = {
          ist = 0,
          zero = 0,
          type = 0,
          dpl = 0,
          p = 0
        },
        offset_middle = 0,
        offset_high = 0,
        reserved = 0
      }
      """#
    ),
    (
      "init_mm.mm_mt", false,
      #"""
      {
        {
          ma_lock = {
            {
              rlock = {
                raw_lock = {
                  {
                    val = {
                      counter = 0
                    },
                    {
                      locked = 0 '\000',
                      pending = 0 '\000'
                    },
                    {
                      locked_pending = 0,
                      tail = 0
                    }
                  }
                }
              }
            }
          },
          ma_external_lock = {<No data fields>}
        },
        ma_flags = 771,
        ma_root = 0x0 <fixed_percpu_data>
      }
      """#
    ),
    (
      "init_task.se.load", false,
      #"""
      {
        weight = 0,
        inv_weight = 0
      }
      """#
    ),
    (
      "init_task.thread", false,
      #"""
      {
        tls_array = {{
            limit0 = 0,
            base0 = 0,
            base1 = 0,
            type = 0,
            s = 0,
            dpl = 0,
            p = 0,
            limit1 = 0,
            avl = 0,
            l = 0,
            d = 0,
            g = 0,
            base2 = 0
          }, {
            limit0 = 0,
            base0 = 0,
            base1 = 0,
            type = 0,
            s = 0,
            dpl = 0,
            p = 0,
            limit1 = 0,
            avl = 0,
            l = 0,
            d = 0,
            g = 0,
            base2 = 0
          }, {
            limit0 = 0,
            base0 = 0,
            base1 = 0,
            type = 0,
            s = 0,
            dpl = 0,
            p = 0,
            limit1 = 0,
            avl = 0,
            l = 0,
            d = 0,
            g = 0,
            base2 = 0
          }},
        sp = 18446744071608221528,
        es = 0,
        ds = 0,
        fsindex = 0,
        gsindex = 0,
        fsbase = 0,
        gsbase = 0,
        ptrace_bps = {0x0 <fixed_percpu_data>, 0x0 <fixed_percpu_data>, 0x0 <fixed_percpu_data>, 0x0 <fixed_percpu_data>},
        virtual_dr6 = 0,
        ptrace_dr7 = 0,
        cr2 = 0,
        trap_nr = 0,
        error_code = 0,
        io_bitmap = 0x0 <fixed_percpu_data>,
        iopl_emul = 0,
        iopl_warn = 0,
        pkru = 0,
        features = 0,
        features_locked = 0,
        shstk = {
          base = 0,
          size = 0
        },
        fpu = {
          last_cpu = 0,
          avx512_timestamp = 0,
          fpstate = 0x0 <fixed_percpu_data>,
          __task_fpstate = 0x0 <fixed_percpu_data>,
          perm = {
            __state_perm = 0,
            __state_size = 0,
            __user_state_size = 0
          },
          guest_perm = {
            __state_perm = 0,
            __state_size = 0,
            __user_state_size = 0
          },
          __fpstate = {
            size = 0,
            user_size = 0,
            xfeatures = 0,
            user_xfeatures = 0,
            xfd = 0,
            is_valloc = 0,
            is_guest = 0,
            is_confidential = 0,
            in_use = 0,
            regs = {
              fsave = {
                cwd = 0,
                swd = 0,
                twd = 0,
                fip = 0,
                fcs = 0,
                foo = 0,
                fos = 0,
                st_space = {0 <repeats 20 times>},
                status = 0
              },
              fxsave = {
                cwd = 0,
                swd = 0,
                twd = 0,
                fop = 0,
                {
                  {
                    rip = 0,
                    rdp = 0
                  },
                  {
                    fip = 0,
                    fcs = 0,
                    foo = 0,
                    fos = 0
                  }
                },
                mxcsr = 0,
                mxcsr_mask = 0,
                st_space = {0 <repeats 32 times>},
                xmm_space = {0 <repeats 64 times>},
                padding = {0 <repeats 12 times>},
                {
                  padding1 = {0 <repeats 12 times>},
                  sw_reserved = {0 <repeats 12 times>}
                }
              },
              soft = {
                cwd = 0,
                swd = 0,
                twd = 0,
                fip = 0,
                fcs = 0,
                foo = 0,
                fos = 0,
                st_space = {0 <repeats 20 times>},
                ftop = 0 '\000',
                changed = 0 '\000',
                lookahead = 0 '\000',
                no_update = 0 '\000',
                rm = 0 '\000',
                alimit = 0 '\000',
                info = 0x0 <fixed_percpu_data>,
                entry_eip = 0
              },
              xsave = {
                i387 = {
                  cwd = 0,
                  swd = 0,
                  twd = 0,
                  fop = 0,
                  {
                    {
                      rip = 0,
                      rdp = 0
                    },
                    {
                      fip = 0,
                      fcs = 0,
                      foo = 0,
                      fos = 0
                    }
                  },
                  mxcsr = 0,
                  mxcsr_mask = 0,
                  st_space = {0 <repeats 32 times>},
                  xmm_space = {0 <repeats 64 times>},
                  padding = {0 <repeats 12 times>},
                  {
                    padding1 = {0 <repeats 12 times>},
                    sw_reserved = {0 <repeats 12 times>}
                  }
                },
                header = {
                  xfeatures = 0,
                  xcomp_bv = 0,
                  reserved = {0, 0, 0, 0, 0, 0}
                },
                extended_state_area = 0xffffffff82c121c0 <init_task+6272> ""
              },
              __padding = '\000' <repeats 4095 times>
            }
          }
        }
      }
      """#
    ),
    (
      "init_task.flags", true,
      #"""
      0x200000
      """#
    ),
    (
      "init_task.pid", true,
      #"""
      0x0
      """#
    ),
    (
      "init_uts_ns.name.sysname", true,
      #"""
      "Linux", '\000' <repeats 59 times>
      """#
    ),
  ]

  @Test func printsWhatGdbPrints() throws {
    let path = try TypesTestVmlinux.path()
    let elf = try TypesTestELF(path: path)
    let types = try DWARFTypes(path: path, cache: .disabled)
    #expect(
      types.buildID == TypesTestVmlinux.buildID, "the golden text is for the Debian 6.12.107 build")
    let evaluator = ValueEvaluator(
      types: types, symbolAddress: { elf.symbols[$0]?.value }, read: { try elf.read($0, $1) })
    for (expression, hex, gdb) in TypesVmlinuxValuesTests.golden {
      let value = try evaluator.evaluate(expression)
      let formatter = ValueFormatter(
        options: .init(hex: hex), types: types, symbolize: { elf.symbolize($0) },
        readMemory: { try elf.read($0, $1) })
      let text = try formatter.format(value.type, bytes: value.bytes, address: value.address)
      #expect(text == gdb, "p \(expression)")
      if text != gdb { typesPrintDiff(text, gdb) }
    }
  }

  @Test func linuxBannerIsAStringArray() throws {
    // gdb (which found the `extern const char linux_banner[]` declaration first) prints
    // `0xffffffff821520a0 <linux_banner> "Linux version …"...`; kdig prefers the definition
    // in init/version-timestamp.c, a complete `const char [236]`, and prints its text.
    let path = try TypesTestVmlinux.path()
    let elf = try TypesTestELF(path: path)
    let types = try DWARFTypes(path: path, cache: .disabled)
    let evaluator = ValueEvaluator(
      types: types, symbolAddress: { elf.symbols[$0]?.value }, read: { try elf.read($0, $1) })
    let value = try evaluator.evaluate("linux_banner")
    #expect(value.type.name == "const char [236]")
    let text = try ValueFormatter().format(value.type, bytes: value.bytes)
    #expect(
      text.hasPrefix(#""Linux version 6.12.107+deb12-cloud-amd64 (debian-kernel@lists.debian.org)"#)
    )
    #expect(text.hasSuffix(#"#1 SMP PREEMPT_DYNAMIC Debi"..."#))
  }
}
