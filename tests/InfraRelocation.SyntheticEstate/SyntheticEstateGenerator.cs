using System.Globalization;
using System.Text;
using InfraRelocation.Core.Estate;

namespace InfraRelocation.SyntheticEstate;

/// <summary>Size and damage of a synthetic estate.</summary>
public sealed record SyntheticEstateOptions
{
    /// <summary>Number of services moved (all in status cutover, relocation state cutover).</summary>
    public int Services { get; init; } = 100;
    /// <summary>Number of VM targets the services are spread over.</summary>
    public int Vms { get; init; } = 20;
    /// <summary>How many inconsistencies to inject, cycling through registry host, backup inventory, health host, VMID range and stack target.</summary>
    public int Inconsistencies { get; init; }
}

/// <summary>
/// Writes a synthetic estate in the protocol's default layout: N services over M VMs on two sites, every file
/// consistent with the others (all gates pass), optionally with K injected inconsistencies, each of which is
/// exactly one error finding. Used by the benchmark and scale tests.
/// </summary>
public static class SyntheticEstateGenerator
{
    /// <summary>The inconsistency kinds, in injection order, with the rule each one triggers.</summary>
    public static readonly IReadOnlyList<string> InjectedRules =
        ["D35.RegistryHostMismatch", "D35.BackupNotInventoried", "D35.HealthHostMismatch", "D37.VmidOutOfRange", "D35.StackTargetMismatch"];

    private static int Cap(long capacity) => (int)Math.Min(capacity, 64L * 1024 * 1024);

    public static void Write(string root, SyntheticEstateOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Services, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Vms, 1);
        var n = options.Services;
        var m = options.Vms;
        // Injection i (0-based) damages service/VM i * stride so damage is spread over the estate.
        var broken = new Dictionary<int, int>(); // service index -> kind
        var brokenVms = new HashSet<int>();
        for (var i = 0; i < options.Inconsistencies; i++)
        {
            var kind = i % InjectedRules.Count;
            if (kind == 3)
            {
                brokenVms.Add(i / InjectedRules.Count % m);
            }
            else
            {
                var stride = Math.Max(1, n / Math.Max(1, options.Inconsistencies));
                var index = i * stride % n;
                while (broken.ContainsKey(index)) index = (index + 1) % n;
                broken[index] = kind;
            }
        }
        string Vm(int j) => "vm-" + j.ToString("D5", CultureInfo.InvariantCulture);
        string Svc(int j) => "svc-" + j.ToString("D6", CultureInfo.InvariantCulture);
        string Legacy(int j) => "legacy-" + (j % 10).ToString(CultureInfo.InvariantCulture);
        int VmOf(int service) => service % m;
        int VmId(int vm) => 1000 + vm;
        string Ip(int vm) => $"100.64.{vm / 250}.{vm % 250 + 1}";

        var manifest = new StringBuilder(Cap((long)n * 260 + m * 200));
        manifest.Append("version: 1\nowner: \"@synthetic\"\nactive_relocation:\n  change_id: \"CHG-SYNTH\"\n  state: \"cutover\"\n  owner: \"@synthetic\"\n  approved_by: \"@lead\"\n");
        manifest.Append("vm_targets:\n");
        for (var v = 0; v < m; v++)
        {
            var vmid = brokenVms.Contains(v) ? 1 + v % 900 : VmId(v);
            manifest.Append(CultureInfo.InvariantCulture, $"  - vm_id: \"{vmid}\"\n    hostname: \"{Vm(v)}\"\n    role: \"apps\"\n    tailscale_ip: \"{Ip(v)}\"\n    proxmox_host: \"hv-east\"\n    status: \"ready\"\n");
        }
        manifest.Append("services:\n");
        for (var s = 0; s < n; s++)
        {
            manifest.Append(CultureInfo.InvariantCulture,
                $"  - service: \"{Svc(s)}\"\n    from_host: \"{Legacy(s)}\"\n    to_host: \"{Vm(VmOf(s))}\"\n    phase: {1 + s % 3}\n    health_url: \"http://{Vm(VmOf(s))}:8080/health\"\n    rollback_to: \"{Legacy(s)}\"\n    backup_target: \"nas-west:/backups/{Svc(s)}\"\n    status: \"cutover\"\n");
        }
        manifest.Append("required_updates: []\nexceptions:\n  - label: \"synthetic-window\"\n    reason: \"benchmark\"\n    expires_at: \"2099-01-01T00:00:00Z\"\nrollback:\n  max_rollback_window_hours: 24\n  requires_backup_verification: false\n  requires_health_baseline: false\n");

        var policy = new StringBuilder(Cap((long)n * 80 + m * 120));
        policy.Append("version: 1\nsites:\n  east:\n    proxmox_hosts: [\"hv-east\"]\n    vmid_min: 1000\n    vmid_max: 999999\n  west:\n    proxmox_hosts: [\"hv-west\"]\n    vmid_min: 100\n    vmid_max: 999\n");
        policy.Append("hosts:\n  hv-east: { site: east, kind: proxmox, machine_id: \"00112233445566778899aabbccddeeff\" }\n  hv-west: { site: west, kind: proxmox, machine_id: \"ffeeddccbbaa99887766554433221100\" }\n  nas-west: { site: west, kind: storage }\n");
        for (var l = 0; l < 10; l++) policy.Append(CultureInfo.InvariantCulture, $"  {Legacy(l)}: {{ site: west, kind: vm }}\n");
        for (var v = 0; v < m; v++) policy.Append(CultureInfo.InvariantCulture, $"  {Vm(v)}: {{ site: east, kind: vm }}\n");
        policy.Append("vm_target_requirements:\n");
        for (var v = 0; v < m; v++) policy.Append(CultureInfo.InvariantCulture, $"  {Vm(v)}: {{ required_site: east, required_proxmox_host: hv-east }}\n");
        policy.Append("service_placement:\n");
        for (var s = 0; s < n; s++) policy.Append(CultureInfo.InvariantCulture, $"  {Svc(s)}: {{ primary_site: east, dr_sites: [\"west\", \"east\"] }}\n");
        policy.Append("guards:\n  enforce_vmid_ranges: true\n  require_explicit_vm_target_requirements: true\n  require_service_policy_for_manifest_services: true\n  enforce_service_primary_site: true\n  enforce_vm_site_matches_hypervisor_site: true\n");

        var ssh = new StringBuilder(Cap((long)m * 100));
        ssh.Append("ssh:\n  defaults:\n    user: root\n    port: 22\n  targets:\n");
        void Target(string id, string host) => ssh.Append(CultureInfo.InvariantCulture, $"    - id: \"{id}\"\n      host: \"{host}\"\n      user: \"root\"\n");
        Target("hv-east", "10.0.0.2");
        Target("hv-west", "10.1.0.2");
        Target("nas-west", "10.1.0.3");
        for (var l = 0; l < 10; l++) Target(Legacy(l), $"10.1.1.{l + 10}");
        for (var v = 0; v < m; v++) Target(Vm(v), Ip(v));

        var registry = new StringBuilder(Cap((long)n * 120 + m * 80));
        registry.Append("services:\n");
        for (var s = 0; s < n; s++)
        {
            var host = broken.TryGetValue(s, out var k) && k == 0 ? Legacy(s) : Vm(VmOf(s));
            registry.Append(CultureInfo.InvariantCulture, $"  {Svc(s)}:\n    host: {host}\n    port: 8080\n    compose: /opt/stacks/{Svc(s)}/docker-compose.yml\n    status: active\n");
        }
        registry.Append("hosts:\n");
        for (var v = 0; v < m; v++) registry.Append(CultureInfo.InvariantCulture, $"  {Vm(v)}:\n    ssh: {Vm(v)}\n    vmid: {VmId(v)}\n    proxmox_host: hv-east\n");

        var stacks = new StringBuilder(Cap((long)n * 150));
        stacks.Append("version: 1\nstacks:\n");
        for (var s = 0; s < n; s++)
        {
            var target = broken.TryGetValue(s, out var k) && k == 4 ? "host:" + Legacy(s) : "host:" + Vm(VmOf(s));
            stacks.Append(CultureInfo.InvariantCulture, $"  - stack_id: {Svc(s)}\n    name: {Svc(s)}\n    path: stacks/{Svc(s)}\n    compose_files: [stacks/{Svc(s)}/docker-compose.yml]\n    deploy_method: compose_ssh\n    deploy_target: {target}\n    status: active\n");
        }

        var devices = new StringBuilder(Cap((long)m * 60));
        devices.Append("---\nstatus: authoritative\nowner: \"@synthetic\"\n---\n\n# Device identity\n\n## east\n\n| Hostname | Tailscale IP | Role |\n|---|---|---|\n");
        for (var v = 0; v < m; v++) devices.Append(CultureInfo.InvariantCulture, $"| {Vm(v)} | {Ip(v)} | apps |\n");
        devices.Append("\n## west\n\n| Hostname | Tailscale IP | Role |\n|---|---|---|\n");
        for (var l = 0; l < 10; l++) devices.Append(CultureInfo.InvariantCulture, $"| {Legacy(l)} | 100.65.0.{l + 1} | legacy |\n");

        var health = new StringBuilder(Cap((long)n * 110));
        health.Append("version: 1\ndefaults: { connect_timeout_sec: 5, max_time_sec: 10 }\nendpoints:\n");
        for (var s = 0; s < n; s++)
        {
            var host = broken.TryGetValue(s, out var k) && k == 2 ? Legacy(s) : Vm(VmOf(s));
            health.Append(CultureInfo.InvariantCulture, $"  - id: {Svc(s)}\n    host: {host}\n    url: \"http://{Ip(VmOf(s))}:8080/health\"\n    expect: 200\n");
        }

        var backups = new StringBuilder(Cap((long)n * 120));
        backups.Append("targets:\n");
        for (var s = 0; s < n; s++)
        {
            var basePath = broken.TryGetValue(s, out var k) && k == 1 ? "/archive/" + Svc(s) : "/backups/" + Svc(s);
            backups.Append(CultureInfo.InvariantCulture, $"  - name: {Svc(s)}-data\n    enabled: true\n    kind: file_glob\n    host: nas-west\n    base_path: {basePath}\n    glob: \"*.tar.zst\"\n    stale_after_hours: 26\n");
        }

        void Save(EstateFile file, StringBuilder text)
        {
            var full = Path.Combine(root, EstateLayout.DefaultPaths[file]);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text.ToString());
        }
        Save(EstateFile.Manifest, manifest);
        Save(EstateFile.PlacementPolicy, policy);
        Save(EstateFile.SshTargets, ssh);
        Save(EstateFile.ServiceRegistry, registry);
        Save(EstateFile.StackRegistry, stacks);
        Save(EstateFile.DeviceIdentity, devices);
        Save(EstateFile.HealthBindings, health);
        Save(EstateFile.BackupInventory, backups);
        Save(EstateFile.NamingPolicy, new StringBuilder("allowed_exceptions: []\n"));
    }
}
