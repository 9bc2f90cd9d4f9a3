using System.Security.Cryptography;
using System.Text;

namespace InfraRelocation.Testing.Proxmox;

/// <summary>Tunables; all can be changed at runtime (in-process or via /_emulator/options).</summary>
public sealed class EmulatorOptions
{
    public TimeSpan DefaultTaskDuration { get; set; } = TimeSpan.FromMilliseconds(300);
    /// <summary>Per task type (qmclone, qmstart, resize, ...) durations.</summary>
    public Dictionary<string, TimeSpan> TaskDurations { get; } = new(StringComparer.Ordinal);
    /// <summary>Agent answers "QEMU guest agent is not running" for this many polls after a start.</summary>
    public int AgentBootPolls { get; set; } = 2;
    /// <summary>Task status answers 400 "no such task" for this many polls of each new task.</summary>
    public int TaskInvisiblePolls { get; set; }
    /// <summary>Emit the <c>message</c> field in error bodies (libpve-http-server-perl ≥ 5.2.0).</summary>
    public bool IncludeMessageField { get; set; } = true;
    /// <summary>PVE ≥ 8.0 resize returns a UPID; false emulates the old synchronous null.</summary>
    public bool ResizeReturnsUpid { get; set; } = true;
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromMilliseconds(50);
    /// <summary>
    /// How stale /cluster/resources' name, status and template flag may be (pvestatd broadcasts them about every
    /// 10 s; zero: always current). The VM list itself, node and lock are current, as on a real cluster.
    /// </summary>
    public TimeSpan ResourceLag { get; set; } = TimeSpan.Zero;
    public string Version { get; set; } = "9.1.2";
    public int Port { get; set; }
    public string? StatePath { get; set; }
}

public sealed class NodeState(string name)
{
    public string Name { get; } = name;
    public string Status { get; set; } = "online";
    public Dictionary<string, string> Dns { get; } = new() { ["search"] = "example.test", ["dns1"] = "192.0.2.53" };
    public string Hosts { get; set; } = "127.0.0.1 localhost.localdomain localhost\n";
    /// <summary>How often the node's certificate was made anew (pvecm updatecerts --force, a new ACME certificate).</summary>
    public int CertificateRenewals { get; set; }
}

/// <summary>A storage of storage.cfg; <see cref="Shared"/> storages hold the same volumes on every node.</summary>
public sealed record StorageState(string Id, string Type, string Content, bool Shared);

/// <summary>What /cluster/resources last published of a VM (name, status, template flag).</summary>
public sealed record PublishedStats(string? Name, string Status, bool Template, DateTimeOffset At);

public sealed class VmState(int vmid, string node)
{
    /// <summary>The stats /cluster/resources shows while <see cref="EmulatorOptions.ResourceLag"/> has not passed (null: none yet).</summary>
    public PublishedStats? Published { get; set; }
    public int VmId { get; } = vmid;
    public string Node { get; set; } = node;
    public SortedDictionary<string, string> Config { get; } = new(StringComparer.Ordinal);
    public string Status { get; set; } = "stopped";
    public DateTimeOffset? StartedAt { get; set; }
    public int AgentPolls { get; set; }
    /// <summary>Agent boot polls for this VM (null: the global option).</summary>
    public int? AgentBootPolls { get; set; }
    /// <summary>After the agent is up, this many interface reads show eth0 with only a link-local address (DHCP not done).</summary>
    public int LinkLocalOnlyPolls { get; set; }
    /// <summary>IPv4 the guest agent reports (null: ipconfig0 ip=, else 192.0.2.x).</summary>
    public string? GuestIp { get; set; }
    /// <summary>Shutdown without forceStop fails with "VM quit/powerdown failed - got timeout".</summary>
    public bool IgnoresShutdown { get; set; }
    /// <summary>An HA resource (ha-manager): start goes through an 'hastart' task.</summary>
    public bool HaManaged { get; set; }
    public string? Lock => Config.GetValueOrDefault("lock");
    public bool IsTemplate => Config.GetValueOrDefault("template") == "1";

    public string Digest()
    {
        var text = string.Concat(Config.Select(kv => $"{kv.Key}: {kv.Value}\n"));
        return Convert.ToHexString(SHA1.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
    }
}

public sealed class EmulatorTask
{
    public required string Upid { get; init; }
    public required string Node { get; init; }
    public required string Type { get; init; }
    public required string Id { get; init; }
    public required string User { get; init; }
    public required int Pid { get; init; }
    public required long PStart { get; init; }
    public required DateTimeOffset StartTime { get; init; }
    public TimeSpan Duration { get; set; }
    /// <summary>Log lines with the fraction of the duration at which they appear.</summary>
    public List<(double At, string Text)> Lines { get; } = [];
    public string? FailWith { get; set; }
    public int Warnings { get; set; }
    public Action<bool>? OnFinish { get; set; }
    public bool Finished { get; set; }
    public string? ExitStatus { get; set; }
    public DateTimeOffset? EndTime { get; set; }
    public int InvisiblePolls { get; set; }
}

/// <summary>One request as seen by the emulator (secrets masked).</summary>
public sealed record RequestRecord(DateTimeOffset Time, string Method, string Path, IReadOnlyDictionary<string, string> Parameters,
    int Status, string? Principal, string? Reason);

/// <summary>The emulated cluster. Every access goes through <see cref="Sync"/>; tasks finish lazily on <see cref="Tick"/>.</summary>
public sealed class EmulatorState
{
    private int _nextPid = 0x0001A2B0;

    public EmulatorState(EmulatorOptions options) => Options = options;

    public object Sync { get; } = new();
    public EmulatorOptions Options { get; }
    public FaultRegistry Faults { get; } = new();
    public Dictionary<string, NodeState> Nodes { get; } = new(StringComparer.Ordinal);
    /// <summary>storage.cfg: local (no images) and local-lvm (images, per node) unless a seed adds more.</summary>
    public List<StorageState> Storages { get; } =
        [new("local", "dir", "iso,vztmpl,backup,snippets", false), new("local-lvm", "lvmthin", "images,rootdir", false)];
    public SortedDictionary<int, VmState> Vms { get; } = [];
    /// <summary>user.cfg's pools: pool id → member VMIDs (none unless a seed or a test adds one).</summary>
    public Dictionary<string, SortedSet<int>> Pools { get; } = new(StringComparer.Ordinal);
    public List<EmulatorTask> Tasks { get; } = [];
    public Dictionary<string, string> Tokens { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Users { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, (string User, string Csrf, DateTimeOffset Issued)> Tickets { get; } = new(StringComparer.Ordinal);
    /// <summary>Denied (principal or "*", ACL path, privilege) triples; everything else is allowed.</summary>
    public HashSet<(string Principal, string Path, string Privilege)> Denied { get; } = [];
    public List<RequestRecord> Requests { get; } = [];
    public string CertificateFingerprint { get; set; } = "";

    /// <summary>
    /// A node's own certificate fingerprint, as GET /nodes reports it (pve-manager PVE/API2/Nodes.pm index:
    /// ssl_fingerprint from PVE::Cluster::get_node_fingerprint, each node's own pve-ssl.pem). The first node is the
    /// one this emulator serves as (its certificate is the served one); every other node has a certificate of its
    /// own, so an API URL on one node (or a VIP) presents a certificate that differs from the target node's.
    /// </summary>
    public string NodeFingerprint(string node)
    {
        int renewals;
        lock (Sync)
        {
            if (Nodes.Count == 0 || Nodes.Keys.First() == node) return CertificateFingerprint;
            renewals = Nodes.TryGetValue(node, out var state) ? state.CertificateRenewals : 0;
        }
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("pve-ssl.pem of " + node + (renewals == 0 ? "" : $" #{renewals}")));
        return string.Join(':', hash.Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>Gives a node (not the one served) a new certificate: GET /nodes reports a new ssl_fingerprint from then on.</summary>
    public void RenewNodeCertificate(string node)
    {
        lock (Sync)
        {
            if (Nodes.Keys.First() == node) throw new InvalidOperationException($"{node} is the node this emulator serves as; its certificate is the served one");
            Nodes[node].CertificateRenewals++;
        }
    }

    public NodeState AddNode(string name)
    {
        lock (Sync)
        {
            if (!Nodes.TryGetValue(name, out var node)) Nodes[name] = node = new NodeState(name);
            return node;
        }
    }

    public VmState AddVm(int vmid, string node, IDictionary<string, string> config, bool template = false, string status = "stopped")
    {
        lock (Sync)
        {
            AddNode(node);
            var vm = new VmState(vmid, node) { Status = status };
            foreach (var kv in config) vm.Config[kv.Key] = kv.Value;
            if (template) vm.Config["template"] = "1";
            if (status == "running") vm.StartedAt = DateTimeOffset.UtcNow;
            vm.Published = new PublishedStats(vm.Config.GetValueOrDefault("name"), status, vm.IsTemplate, DateTimeOffset.UtcNow);
            Vms[vmid] = vm;
            return vm;
        }
    }

    public StorageState AddStorage(string id, string type, string content, bool shared)
    {
        lock (Sync)
        {
            Storages.RemoveAll(s => s.Id == id);
            var storage = new StorageState(id, type, content, shared);
            Storages.Add(storage);
            return storage;
        }
    }

    /// <summary>A Debian-like cloud-init template whose disk and cloud-init drive are on <paramref name="storage"/>.</summary>
    public VmState AddTemplate(int vmid, string node, string name, string storage = "local-lvm") => AddVm(vmid, node, new Dictionary<string, string>
    {
        ["name"] = name, ["cores"] = "2", ["sockets"] = "1", ["memory"] = "2048", ["ostype"] = "l26",
        ["scsihw"] = "virtio-scsi-single", ["boot"] = "order=scsi0", ["agent"] = "1",
        ["net0"] = $"virtio={RandomMac()},bridge=vmbr0,firewall=1",
        ["scsi0"] = $"{storage}:base-{vmid}-disk-0,size=8G",
        ["ide2"] = $"{storage}:vm-{vmid}-cloudinit,media=cdrom",
        ["smbios1"] = $"uuid={Guid.NewGuid()}",
    }, template: true);

    public void AddPool(string poolId) { lock (Sync) Pools.TryAdd(poolId, []); }
    public void AddToken(string tokenId, string secret) { lock (Sync) Tokens[tokenId] = secret; }
    public void AddUser(string user, string password) { lock (Sync) Users[user] = password; }
    public void Deny(string aclPath, string privilege, string principal = "*") { lock (Sync) Denied.Add((principal, aclPath, privilege)); }

    public void SetLock(int vmid, string? lockName)
    {
        lock (Sync)
        {
            if (lockName is null) Vms[vmid].Config.Remove("lock");
            else Vms[vmid].Config["lock"] = lockName;
        }
    }

    public IReadOnlyList<RequestRecord> RequestLog() { lock (Sync) return Requests.ToList(); }
    public void ClearRequestLog() { lock (Sync) Requests.Clear(); }

    public static string RandomMac()
    {
        var b = RandomNumberGenerator.GetBytes(3);
        return $"BC:24:11:{b[0]:X2}:{b[1]:X2}:{b[2]:X2}";
    }

    public TimeSpan DurationOf(string type) =>
        Options.TaskDurations.TryGetValue(type, out var d) ? d : Options.DefaultTaskDuration;

    /// <summary>Starts a task (caller holds <see cref="Sync"/>). A registered task fault makes it fail.</summary>
    public EmulatorTask StartTask(string node, string type, string id, string user, Action<bool>? onFinish = null,
        IEnumerable<(double, string)>? lines = null, string? failWith = null)
    {
        var now = DateTimeOffset.UtcNow;
        var pid = _nextPid++;
        const long pstart = 0x0012D687;
        var upid = $"UPID:{node}:{pid:X8}:{pstart:X8}:{now.ToUnixTimeSeconds():X8}:{type}:{id}:{user}:";
        var fault = Faults.TakeTaskFault(type, id);
        var task = new EmulatorTask
        {
            Upid = upid, Node = node, Type = type, Id = id, User = user, Pid = pid, PStart = pstart, StartTime = now,
            Duration = fault?.Kind == FaultKind.HangTask ? TimeSpan.FromDays(365) : DurationOf(type),
            FailWith = failWith ?? (fault?.Kind == FaultKind.FailTask ? fault.Message : null),
            OnFinish = onFinish, InvisiblePolls = Options.TaskInvisiblePolls,
        };
        if (lines is not null) task.Lines.AddRange(lines);
        if (fault?.Kind == FaultKind.WarnTask)
        {
            task.Warnings = 1;
            task.Lines.Add((0.5, "WARN: " + fault.Message));
        }
        Tasks.Add(task);
        Tick();
        return task;
    }

    /// <summary>Finishes every task whose time is up, in start order (caller holds <see cref="Sync"/>).</summary>
    public void Tick()
    {
        var now = DateTimeOffset.UtcNow;
        // A finishing task may start another (HA start): that nested Tick can finish tasks of this list first.
        foreach (var task in Tasks.Where(t => !t.Finished && now >= t.StartTime + t.Duration).ToList())
            if (!task.Finished) Finish(task, task.FailWith);
    }

    public void Finish(EmulatorTask task, string? error)
    {
        task.Finished = true;
        task.EndTime = DateTimeOffset.UtcNow;
        task.ExitStatus = error ?? (task.Warnings > 0 ? $"WARNINGS: {task.Warnings}" : "OK");
        task.Lines.Add((1.0, error is null ? "TASK " + task.ExitStatus : "TASK ERROR: " + error));
        task.OnFinish?.Invoke(error is null);
    }

    /// <summary>Visible log lines (all once finished, else those whose time has come).</summary>
    public List<string> VisibleLines(EmulatorTask task)
    {
        if (task.Finished) return task.Lines.Select(l => l.Text).ToList();
        var fraction = task.Duration.TotalMilliseconds <= 0 ? 1 : (DateTimeOffset.UtcNow - task.StartTime).TotalMilliseconds / task.Duration.TotalMilliseconds;
        return task.Lines.Where(l => l.At <= fraction && l.At < 1.0).Select(l => l.Text).ToList();
    }
}
