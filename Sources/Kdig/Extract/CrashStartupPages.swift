// The pages crash 8.0.2 reads from the dump when it starts and for `sys`, `bt`, `bt -a`,
// `foreach bt`, `ps` and `log`, beyond what kdig's own analyses read (the extract's
// `crash` part). Found by running crash on extracts and collecting its "page excluded"
// errors; each group below names crash's error type for it.

import KdigBinary

extension ExtractWorkload {
  func crashStartup() {
    // "framepointer check": crash reads the first bytes of these functions to decide
    // whether the kernel keeps frame pointers; "gdb_readmem_callback": the entry and
    // scheduler code it disassembles at start.
    for name in [
      "__x64_sys_open", "__ia32_sys_fork", "__x64_sys_read", "do_futex", "vfs_read", "sys_open", "sys_fork", "sys_read",
      "common_interrupt", "schedule", "__schedule", "linux_banner", "task_state_array", "taint_flags",
    ] {
      functionText(named: name)
    }
    // The scheduler, IRQ-entry and entry text sections, which crash's x86_64 backtracer
    // reads as a whole.
    for section in ["sched", "irqentry", "softirqentry", "entry"] {
      if let symbols = try? kernel.symbols(), let s = symbols.first("__\(section)_text_start"),
        let e = symbols.first("__\(section)_text_end"), e.value > s.value
      {
        readSpan(kernel.runtimeAddress(s), e.value - s.value)
      }
    }
    // Every function of every task's backtrace: crash reads the code around each return
    // address (gdb_readmem_callback) to check the call before it.
    var tasks: Set<UInt64> = []
    func text(of trace: Backtrace) {
      tasks.insert(trace.task.value)
      for frame in trace.frames {
        functionText(at: frame.ip.value)
        if let rip = frame.exception?.fields.first(where: { $0.name == "ip" })?.value.value { functionText(at: rip) }
      }
      // crash's `bt` also checks every text address left on the stack ("?" frames).
      staleTextAddresses(task: trace.task.value, cpu: trace.cpu)
    }
    for target in [BacktraceTarget.allTasks, .allCPUs] {
      for trace in (try? kernel.backtraces(target)) ?? [] { text(of: trace) }
    }
    // Tasks on no list kdig walks (the idle tasks, a task only the pid table names): crash
    // unwinds them too.
    for task in pidNamespace().union(runQueueTasks()).subtracting(tasks).sorted() {
      for trace in (try? kernel.backtraces(.task(task))) ?? [] { text(of: trace) }
      tasks.insert(task)
    }
    wholeTasks(tasks)
    memorySections()
    nodes()
    slabCaches()
    pageFlagNames()
    moduleSymbols()
  }

  /// "pageflag_names entry": the {mask, name} table and its strings.
  func pageFlagNames() {
    guard let table = try? kernel.lookup("pageflag_names") else { return }
    for i in 0..<UInt64(128) {
      let entry = table.address &+ 16 &* i
      readSpan(entry, 16)
      guard let name = try? kernel.kernelSpace.u64(at: entry &+ 8), name != 0 else { return }
      readSpan(name, 64)
    }
  }

  /// "cannot access module kallsyms": each module's struct module and its mod_kallsyms
  /// symbol, string and type tables (also what module symbols without a vmlinux need).
  func moduleSymbols() {
    guard let types = try? kernel.types(), let modules = try? kernel.loadedModules(),
      let moduleSize = try? types.sizeof("module")
    else { return }
    for module in modules {
      readSpan(module.address, UInt64(moduleSize))
      // The whole module: crash reads its core to find the symbol tables ("module
      // (kallsyms)"), which the module loader put there (mod_kallsyms, symtab, strtab).
      for region in module.regions {
        readSpan(region.lowerBound, region.upperBound - region.lowerBound, limit: 64 << 20)
      }
      moduleAttributes(module.address, types)
      // And what kdig's own module symbols read (ModuleSymbols.swift).
      _ = kernel.moduleSymbol(at: module.text.lowerBound)
    }
  }


  /// Kernel text addresses among the words of a task's stacks: the functions they are in.
  func staleTextAddresses(task: UInt64, cpu: Int?) {
    guard let stacks = try? kernel.stacks(ofTask: task, cpu: cpu), let text = textRange() else { return }
    for stack in stacks where stack.top.value > stack.base.value && stack.top.value - stack.base.value <= 1 << 20 {
      guard let bytes = try? kernel.kernelSpace.bytes(at: stack.base.value, count: Int(stack.top.value - stack.base.value))
      else { continue }
      var functions: Set<UInt64> = []
      for i in stride(from: 0, to: bytes.count - 7, by: 8) {
        let word = bytes[i..<(i + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if text.contains(word), functions.insert(word).inserted { functionText(at: word) }
      }
    }
  }

  /// [_stext, _etext) at run time.
  func textRange() -> Range<UInt64>? {
    guard let symbols = try? kernel.symbols(), let s = symbols.first("_stext"), let e = symbols.first("_etext"),
      e.value > s.value
    else { return nil }
    return kernel.runtimeAddress(s)..<kernel.runtimeAddress(e)
  }

  /// "fill_task_struct", "fill_mm_struct", "stack contents": crash reads each task's whole
  /// task_struct, its mm_struct and its stack (the idle tasks too, which are on no list).
  func wholeTasks(_ found: Set<UInt64>) {
    guard let types = try? kernel.types(), let taskSize = try? types.sizeof("task_struct"),
      let mmOffset = try? types.offsetof("task_struct.mm"), let mmSize = try? types.sizeof("mm_struct")
    else { return }
    var tasks = found
    for t in (try? TaskList(kernel: kernel).all()) ?? [] { tasks.insert(t.task.value) }
    let stackAt = try? types.offsetof("task_struct.stack")
    let threadSize = UInt64((try? kernel.stackMap().threadSize) ?? 16384)
    for task in tasks.sorted() {
      readSpan(task, UInt64(taskSize))
      // Its whole stack: crash's `bt` reads it at once ("stack contents").
      if let stackAt, let stack = try? kernel.kernelSpace.u64(at: task &+ UInt64(stackAt)), stack != 0 {
        readSpan(stack, threadSize)
      }
      if let mm = try? kernel.kernelSpace.u64(at: task &+ UInt64(mmOffset)), mm != 0 { readSpan(mm, UInt64(mmSize)) }
    }
  }

  /// Every CPU's idle and current task (rq->idle, rq->curr): crash lists the idle tasks,
  /// which are on no task list, and reads them whole.
  func runQueueTasks() -> Set<UInt64> {
    let rq = RunQueueTasks(kernel)
    let size = UInt64((try? kernel.types().sizeof("rq")) ?? 4096)
    for (_, address) in rq.runqueues { readSpan(address, size) }
    return rq.tasks
  }


  /// "xa_node shift", "xa_node.slots[off]": crash finds tasks through init_pid_ns.idr, an
  /// xarray of struct pid; every node and every pid is read (PidNamespace.swift), and the
  /// task each pid names: crash counts tasks this way, including ones on no task list kdig walks.
  func pidNamespace() -> Set<UInt64> {
    guard let scan = try? kernel.scanInitPidNamespace() else { return [] }
    for node in scan.nodes { readSpan(node, UInt64(scan.nodeSize)) }
    for p in scan.pids { readSpan(p.pid, UInt64(scan.pidSize)) }
    return Set(scan.pids.compactMap(\.task))
  }

  /// The symbol's bytes (bounded), and the pages they sit on.
  func functionText(named name: String) {
    guard let symbol = try? kernel.symbols().first(name) else { return }
    readSpan(kernel.runtimeAddress(symbol), symbol.size)
  }

  func functionText(at address: UInt64) {
    readSpan(address, 1)
    guard let symbols = try? kernel.symbols(),
      let (symbol, _) = symbols.symbolize(linkAddress: address &- kernel.layout.kaslrOffset.value)
    else { return }
    // gdb reads a little before a function when it disassembles it, and past its end.
    readSpan(kernel.runtimeAddress(symbol) &- 64, symbol.size &+ 64 &+ UInt64(kernel.memory.pageSize))
  }

  /// "memory section root table", "memory section": the SPARSEMEM_EXTREME root array and
  /// each root's page of struct mem_section (crash's sparse_mem_init).
  func memorySections() {
    guard let info = kernel.vmcoreinfo, let roots = info.length("mem_section", upTo: 1 << 20),
      let symbol = try? kernel.symbols().first("mem_section"),
      let array = try? kernel.kernelSpace.u64(at: kernel.runtimeAddress(symbol)), array != 0
    else { return }
    let page = UInt64(kernel.memory.pageSize)
    for i in 0..<UInt64(roots) {
      guard let root = try? kernel.kernelSpace.u64(at: array &+ 8 &* i), root != 0 else { continue }
      readSpan(root, page)
    }
  }

  /// "zone spanned_pages", "zone[_struct] free_pages": every node's pglist_data.
  func nodes() {
    guard let info = kernel.vmcoreinfo, let count = info.length("node_data", upTo: 1 << 12),
      let size = info.size("pglist_data", upTo: 1 << 20), let base = info.symbol("node_data")
    else { return }
    for i in 0..<UInt64(count) {
      guard let node = try? kernel.kernelSpace.u64(at: base &+ 8 &* i), node != 0 else { continue }
      readSpan(node, UInt64(size))
    }
  }

  /// "kmem_cache objsize/object_size": every struct kmem_cache on slab_caches.
  func slabCaches() {
    guard let types = try? kernel.types(), let link = try? types.offsetof("kmem_cache.list"),
      let size = try? types.sizeof("kmem_cache"), let head = try? kernel.lookup("slab_caches")
    else { return }
    var next = (try? kernel.kernelSpace.u64(at: head.address)) ?? head.address
    var seen: Set<UInt64> = []
    // A list of at most 65536 caches; a loop or a bad pointer ends the walk.
    while next != head.address, seen.count < 65536, seen.insert(next).inserted {
      readSpan(next &- UInt64(link), UInt64(size))
      guard let n = try? kernel.kernelSpace.u64(at: next) else { return }
      next = n
    }
  }

  /// drgn finds a module's sections and build-id through sysfs attributes: sect_attrs
  /// (each section's name and address) and notes_attrs (each note's bytes).
  func moduleAttributes(_ module: UInt64, _ types: any TypeProvider) {
    let space = kernel.kernelSpace
    func pointer(_ at: UInt64) -> UInt64? { (try? space.u64(at: at)).flatMap { $0 == 0 ? nil : $0 } }
    if let field = try? types.offsetof("module.sect_attrs"), let attrs = pointer(module &+ UInt64(field)),
      let header = try? types.sizeof("module_sect_attrs"), let countAt = try? types.offsetof("module_sect_attrs.nsections"),
      let arrayAt = try? types.offsetof("module_sect_attrs.attrs"), let element = try? types.sizeof("module_sect_attr"),
      let nameAt = try? types.offsetof("module_sect_attr.battr.attr.name")
    {
      let n = UInt64(min((try? space.integer(UInt32.self, at: attrs &+ UInt64(countAt))) ?? 0, 4096))
      readSpan(attrs, UInt64(header) &+ n &* UInt64(element))
      for i in 0..<n {
        if let name = pointer(attrs &+ UInt64(arrayAt) &+ i &* UInt64(element) &+ UInt64(nameAt)) { readSpan(name, 64) }
      }
    }
    if let field = try? types.offsetof("module.notes_attrs"), let notes = pointer(module &+ UInt64(field)),
      let header = try? types.sizeof("module_notes_attrs"), let countAt = try? types.offsetof("module_notes_attrs.notes"),
      let arrayAt = try? types.offsetof("module_notes_attrs.attrs"), let element = try? types.sizeof("bin_attribute"),
      let dataAt = try? types.offsetof("bin_attribute.private"), let sizeAt = try? types.offsetof("bin_attribute.size")
    {
      let n = UInt64(min((try? space.integer(UInt32.self, at: notes &+ UInt64(countAt))) ?? 0, 4096))
      readSpan(notes, UInt64(header) &+ n &* UInt64(element))
      for i in 0..<n {
        let attr = notes &+ UInt64(arrayAt) &+ i &* UInt64(element)
        if let data = pointer(attr &+ UInt64(dataAt)), let size = try? space.u64(at: attr &+ UInt64(sizeAt)) {
          readSpan(data, min(size, 1 << 16))
        }
      }
    }
  }

  /// Reads [address, address + size) page by page (at most `limit` bytes), ignoring pages the
  /// original lacks.
  func readSpan(_ address: UInt64, _ size: UInt64, limit: UInt64 = 1 << 20) {
    let page = UInt64(kernel.memory.pageSize)
    let end = address.saturatingAdd(max(1, min(size, limit)))
    var a = address / page * page
    while a < end {
      _ = try? kernel.kernelSpace.bytes(at: a, count: Int(page))
      a = a.saturatingAdd(page)
    }
  }
}
