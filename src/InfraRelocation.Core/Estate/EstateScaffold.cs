using System.Text;
using InfraRelocation.Core.Persistence;

namespace InfraRelocation.Core.Estate;

/// <summary>
/// A new estate in an existing folder (New-RelocationEstate): every protocol file at its default location as a
/// small, valid skeleton whose comments show what goes where, and <c>ops/infra-relocation.yaml</c> with every
/// <c>paths:</c> key commented out. Files that already exist are never touched.
/// </summary>
public static class EstateScaffold
{
    /// <summary>The estate configuration file, relative to the estate root.</summary>
    public const string ConfigPath = "ops/infra-relocation.yaml";

    /// <summary>One file of the scaffold: where it goes, what it holds, and whether a file is there already.</summary>
    public sealed record Item(string RelativePath, string Content, bool Exists);

    /// <summary>The configuration key of a protocol file under <c>paths:</c> (PlacementPolicy → placement_policy).</summary>
    public static string ConfigKey(EstateFile file)
    {
        var name = file.ToString();
        var key = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) key.Append('_');
            key.Append(char.ToLowerInvariant(name[i]));
        }
        return key.ToString();
    }

    /// <summary>The files a scaffold of <paramref name="root"/> consists of, in the order they are written.</summary>
    public static IReadOnlyList<Item> Plan(string root, string changeId, string owner)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(changeId);
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        var items = new List<Item>();
        foreach (var file in Enum.GetValues<EstateFile>())
        {
            var path = EstateLayout.DefaultPaths[file];
            var content = Template(file).Replace("{change_id}", Quote(changeId), StringComparison.Ordinal)
                .Replace("{owner}", Quote(owner), StringComparison.Ordinal);
            items.Add(new Item(path, content, Exists(root, path)));
        }
        items.Add(new Item(ConfigPath, Config(), Exists(root, ConfigPath)));
        return items;
    }

    /// <summary>Writes one file of the plan atomically; refuses when a file appeared there since the plan was made.</summary>
    public static void Write(string root, Item item)
    {
        var full = Path.Combine(root, item.RelativePath);
        if (File.Exists(full) || Directory.Exists(full))
        {
            throw new RelocationException("EstateFileExists", FailureKind.ResourceUnavailable,
                $"{item.RelativePath} already exists; it was left as it is.", target: item.RelativePath);
        }
        AtomicFile.Write(full, Encoding.UTF8.GetBytes(item.Content));
    }

    private static bool Exists(string root, string relativePath)
    {
        var full = Path.Combine(root, relativePath);
        return File.Exists(full) || Directory.Exists(full);
    }

    // Double-quoted YAML scalar: the change id and owner come from the user.
    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string Config()
    {
        var text = new StringBuilder();
        text.Append("""
            # InfraRelocation estate configuration (written by New-RelocationEstate).
            # The folder holding ops/ is the estate root; every path below is relative to it.
            # Schemas for editors: the module's Schemas/ folder (see the README, "Point it at your repository").

            # The paths section moves a protocol file away from its default location. Uncomment the "paths:" line
            # and the keys of the files you keep elsewhere; each value shown is the default.
            # paths:

            """);
        foreach (var file in Enum.GetValues<EstateFile>())
        {
            text.Append("#   ").Append(ConfigKey(file)).Append(": ").Append(EstateLayout.DefaultPaths[file]).Append('\n');
        }
        text.Append("""

            # receipts: where the receipt ledger is kept (git-ignore it, or commit it as evidence).
            receipts:
              folder: receipts

            # proxmox: the Proxmox VE API for New-ProxmoxVm and the live checks. The token secret is never written
            # here: it comes from -ApiToken, an environment variable ({ env: NAME }) or a vault ({ vault: NAME }).
            # proxmox:
            #   token_id: "automation@pve!relocation"
            #   token_secret: { env: INFRA_RELOCATION_PVE_TOKEN }
            #   hosts:
            #     pve-site1-a: { api_url: "https://pve-site1-a.example.net:8006", node: "pve-site1-a", fingerprint: "AA:BB:..." }

            """);
        return text.ToString();
    }

    private static string Template(EstateFile file) => file switch
    {
        EstateFile.Manifest => """
            # Relocation manifest: the relocation in progress (protocol: Get-Help about_InfraRelocation).
            # Change it through Set-RelocationState and Set-RelocationServiceStatus; planning fields may be edited by hand.
            version: 1
            owner: {owner}

            active_relocation:
              change_id: {change_id}
              state: planning
              owner: {owner}
              approved_by: null

            # VMs to provision, e.g.
            #   - { vm_id: 210, hostname: app-core, proxmox_host: pve-site1-a, profile: docker-host, status: planned }
            vm_targets: []

            # Services to move, e.g.
            #   - { service: wiki, from_host: old-host, to_host: app-core, phase: 1, rollback_to: old-host, status: planned }
            services: []

            # Files every relocation must keep in step (parity, D35).
            required_updates: []

            # Time-boxed exceptions; each needs an expires_at (D36).
            exceptions: []

            rollback:
              max_rollback_window_hours: 48
              requires_backup_verification: true
              requires_health_baseline: true

            """,
        EstateFile.PlacementPolicy => """
            # Placement policy (D37): sites with their hypervisors and VMID ranges, the hosts, and where VMs and
            # services may run.
            version: 1

            # e.g. site1: { proxmox_hosts: [pve-site1-a], vmid_min: 200, vmid_max: 299 }
            sites: {}

            # e.g. pve-site1-a: { site: site1, kind: proxmox, machine_id: "<32 hex digits of /etc/machine-id>" }
            hosts: {}

            # e.g. app-core: { required_site: site1, required_proxmox_host: pve-site1-a }
            vm_target_requirements: {}

            # e.g. wiki: { primary_site: site1, dr_sites: [site1] }
            service_placement: {}

            """,
        EstateFile.VmProfiles => """
            # VM profiles: how each kind of VM is provisioned (New-ProxmoxVm), bootstrapped (Initialize-RelocationVm)
            # and judged ready (Get-VmReadiness).
            version: 1

            # e.g. docker-host:
            #        provisioning: { template_vmid: 9000, cpu_cores: 2, memory_mb: 4096, disk_gb: 32 }
            #        bootstrap: { package_manager: apt, packages: [qemu-guest-agent, cron], services_enable: [cron] }
            #        readiness: { require_running: true, require_ssh_reachability: true }
            profiles: {}

            """,
        EstateFile.SshTargets => """
            # SSH targets: how every host is reached. Host keys are verified: pin host_key (ssh-keygen -lf) or
            # name a known_hosts_file.
            ssh:
              defaults:
                user: ops
                port: 22
              # e.g. - { id: pve-site1-a, host: 192.0.2.11, user: root, host_key: "SHA256:..." }
              targets: []

            """,
        EstateFile.BackupInventory => """
            # Backup inventory: where each backup lands (D35 checks moved services against it).
            version: 1

            # e.g. - { name: wiki-daily, enabled: true, kind: file_glob, host: nas-site1, base_path: /volume1/backups/wiki }
            targets: []

            """,
        EstateFile.HealthBindings => """
            # Health binding: each service's health endpoint (preflight baseline, promotion probes).
            version: 1

            defaults:
              connect_timeout_sec: 5
              max_time_sec: 10

            # e.g. - { id: wiki, host: app-core, url: "http://192.0.2.110:3000/healthz", expect: 200, enabled: true }
            endpoints: []

            """,
        EstateFile.ServiceRegistry => """
            # Service registry: where each service runs. Its host follows the service's status during a relocation.

            # e.g. wiki: { host: app-core, port: 3000, health: /healthz, status: active }
            services: {}

            # e.g. app-core: { tailscale_ip: 100.64.10.110, os: debian-12 }
            hosts: {}

            """,
        EstateFile.StackRegistry => """
            # Stack registry: the deployable stacks and where each deploys.
            version: 1

            # e.g. - { stack_id: wiki, name: Wiki, path: stacks/wiki, deploy_method: compose_ssh, deploy_target: app-core }
            stacks: []

            """,
        EstateFile.DeviceIdentity => """
            ---
            status: authoritative
            owner: {owner}
            scope: device-identity
            ---

            # Device Identity SSOT

            Every machine: its canonical hostname (the host id everywhere else), where it lives and its addresses.
            Add a VM here before any service moves onto it (parity, D35, checks this file).

            | Hostname | Kind | VMID | Proxmox host | LAN IP | Mesh IP | Notes |
            |---|---|---|---|---|---|---|

            """,
        EstateFile.NamingPolicy => """
            # Naming policy: host naming rules and the hosts allowed to deviate from them.
            version: 1

            rules:
              pattern: "^[a-z][a-z0-9-]{1,30}$"

            # e.g. - { host: nas-site1, surface: system_hostname, actual: DS1821, reason: "appliance keeps its own name" }
            allowed_exceptions: []

            """,
        EstateFile.ExceptionRegister => """
            # Exception register: time-boxed exceptions to the protocol; each must expire (D36).
            version: 1

            # e.g. - { label: legacy-cron, owner: "@you", reason: "...", expires_at: "2027-01-31T23:59:59Z" }
            exceptions: []

            """,
        _ => throw new ArgumentOutOfRangeException(nameof(file), file, "No scaffold template for this estate file."),
    };
}
