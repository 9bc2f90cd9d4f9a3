using InfraRelocation.Core.Estate;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Gates;

/// <summary>
/// Builds a small, fully consistent estate in memory (every gate passes), with a distinct location for every
/// field so tests can assert exactly where a finding points. Tests break one thing and assert the finding.
/// </summary>
internal sealed class EstateBuilder
{
    public const string ManifestFile = "ops/bindings/infra.relocation.plan.yaml";
    public const string PolicyFile = "ops/bindings/infra.placement.policy.yaml";
    public const string RegistryFile = "docs/governance/SERVICE_REGISTRY.yaml";
    public const string SshFile = "ops/bindings/ssh.targets.yaml";
    public const string StackFile = "docs/governance/STACK_REGISTRY.yaml";
    public const string DeviceFile = "docs/governance/DEVICE_IDENTITY_SSOT.md";
    public const string HealthFile = "ops/bindings/services.health.yaml";
    public const string BackupFile = "ops/bindings/backup.inventory.yaml";
    public const string NamingFile = "ops/bindings/naming.policy.yaml";
    public const string RegisterFile = "ops/bindings/legacy.entrypoint.exceptions.yaml";

    private static int s_line = 1;

    public static T At<T>(T entry, string file, params string[] keys) where T : ModelEntry
    {
        var line = Interlocked.Add(ref s_line, keys.Length + 1);
        var fields = new Dictionary<string, SourceLocation>();
        for (var i = 0; i < keys.Length; i++)
        {
            fields[keys[i]] = new SourceLocation(file, line + i + 1, 5 + keys[i].Length + 2);
        }
        return entry with { Location = new SourceLocation(file, line, 3), FieldLocations = fields };
    }

    /// <summary>
    /// The estate lives in memory and nothing reads or writes below its root, so every builder shares one empty folder
    /// in the test output (a temp folder per build was left behind by each of them).
    /// </summary>
    public string Root { get; } = Path.Combine(AppContext.BaseDirectory, "estate-builder");

    public ActiveRelocation? Active = At(new ActiveRelocation
    {
        ChangeId = "CHG-1", State = RelocationState.Cutover, StateText = "cutover", Owner = "@ops", ApprovedBy = "@lead",
    }, ManifestFile, "change_id", "state", "owner", "approved_by");

    public List<VmTarget> Vms =
    [
        At(new VmTarget { Index = 0, Hostname = "app-core", VmId = 231, ProxmoxHost = "hv-east", TailscaleIp = "100.64.10.31", Status = VmTargetStatus.Provisioned, StatusText = "provisioned" },
            ManifestFile, "vm_id", "hostname", "proxmox_host", "tailscale_ip", "status"),
    ];

    public List<ServiceMove> Services =
    [
        At(new ServiceMove
        {
            Index = 0, Service = "wiki", FromHost = "legacy-box", ToHost = "app-core", Phase = 1, HealthUrl = "http://app-core:8080/health",
            RollbackTo = "dr-box", BackupTarget = "backup-nas:/vol/backups/wiki", Status = ServiceStatus.Cutover, StatusText = "cutover",
        }, ManifestFile, "service", "from_host", "to_host", "phase", "health_url", "rollback_to", "backup_target", "status"),
        At(new ServiceMove
        {
            Index = 1, Service = "chat", FromHost = "legacy-box", ToHost = "app-core", Phase = 2, RollbackTo = "legacy-box",
            Status = ServiceStatus.Planned, StatusText = "planned",
        }, ManifestFile, "service", "from_host", "to_host", "phase", "rollback_to", "status"),
    ];

    public List<RequiredUpdate> RequiredUpdates = [];
    public List<ExceptionEntry> ManifestExceptions =
    [
        At(new ExceptionEntry { Label = "split-dns", Reason = "dns", ExpiresAtText = "2026-12-31T23:59:59Z", File = ManifestFile }, ManifestFile, "label", "reason", "expires_at"),
    ];
    public List<ExceptionEntry> RegisterExceptions = [];
    public RollbackPolicy? Rollback = new() { MaxRollbackWindowHours = 24, RequiresBackupVerification = true };

    public Dictionary<string, PlacementSite> Sites = new()
    {
        ["east"] = At(new PlacementSite { Id = "east", ProxmoxHosts = ["hv-east"], VmidMin = 200, VmidMax = 299 }, PolicyFile, "proxmox_hosts", "vmid_min", "vmid_max"),
        ["west"] = At(new PlacementSite { Id = "west", ProxmoxHosts = ["hv-west"], VmidMin = 100, VmidMax = 199 }, PolicyFile, "proxmox_hosts", "vmid_min", "vmid_max"),
    };

    public Dictionary<string, PlacementHost> Hosts = new()
    {
        ["hv-east"] = At(new PlacementHost { Id = "hv-east", Site = "east", Kind = "proxmox", MachineId = "00112233445566778899aabbccddeeff" }, PolicyFile, "site", "kind", "machine_id"),
        ["hv-west"] = At(new PlacementHost { Id = "hv-west", Site = "west", Kind = "proxmox", MachineId = "ffeeddccbbaa99887766554433221100" }, PolicyFile, "site", "kind", "machine_id"),
        ["app-core"] = At(new PlacementHost { Id = "app-core", Site = "east", Kind = "vm" }, PolicyFile, "site", "kind"),
        ["legacy-box"] = At(new PlacementHost { Id = "legacy-box", Site = "east", Kind = "vm" }, PolicyFile, "site", "kind"),
        ["dr-box"] = At(new PlacementHost { Id = "dr-box", Site = "west", Kind = "vm" }, PolicyFile, "site", "kind"),
        ["backup-nas"] = At(new PlacementHost { Id = "backup-nas", Site = "west", Kind = "storage" }, PolicyFile, "site", "kind"),
    };

    public Dictionary<string, VmTargetRequirement> VmRequirements = new()
    {
        ["app-core"] = At(new VmTargetRequirement { Hostname = "app-core", RequiredSite = "east", RequiredProxmoxHost = "hv-east" }, PolicyFile, "required_site", "required_proxmox_host"),
    };

    public Dictionary<string, ServicePlacementRule> ServicePlacement = new()
    {
        ["wiki"] = At(new ServicePlacementRule { Service = "wiki", PrimarySite = "east", DrSites = ["east", "west"] }, PolicyFile, "primary_site", "dr_sites"),
        ["chat"] = At(new ServicePlacementRule { Service = "chat", PrimarySite = "east", DrSites = ["east"] }, PolicyFile, "primary_site", "dr_sites"),
    };

    public PlacementGuards Guards = At(new PlacementGuards
    {
        EnforceVmidRanges = true, RequireExplicitVmTargetRequirements = true, RequireServicePolicyForManifestServices = true,
        EnforceServicePrimarySite = true, EnforceVmSiteMatchesHypervisorSite = true,
    }, PolicyFile, "enforce_vmid_ranges", "require_explicit_vm_target_requirements", "require_service_policy_for_manifest_services",
        "enforce_service_primary_site", "enforce_vm_site_matches_hypervisor_site");

    public List<SshTarget> SshTargets = new[] { "hv-east", "hv-west", "app-core", "legacy-box", "dr-box", "backup-nas" }
        .Select((id, i) => At(new SshTarget { Index = i, Id = id, Host = $"10.0.0.{i + 2}", User = "root" }, SshFile, "id", "host", "user")).ToList();

    public Dictionary<string, RegisteredService> Registry = new()
    {
        ["wiki"] = At(new RegisteredService { Name = "wiki", Host = "app-core", Compose = "/opt/stacks/wiki/docker-compose.yml" }, RegistryFile, "host", "compose"),
        ["chat"] = At(new RegisteredService { Name = "chat", Host = "legacy-box" }, RegistryFile, "host"),
    };

    public List<StackEntry> Stacks =
    [
        At(new StackEntry { Index = 0, StackId = "wiki", ComposeFiles = ["stacks/wiki/docker-compose.yml"], DeployTarget = "proxmox:vm-231" }, StackFile, "stack_id", "compose_files", "deploy_target"),
    ];

    public List<DeviceRecord> Devices =
    [
        At(new DeviceRecord { Hostname = "app-core", Addresses = ["100.64.10.31"] }, DeviceFile),
        At(new DeviceRecord { Hostname = "legacy-box", Addresses = ["100.64.10.5"] }, DeviceFile),
        At(new DeviceRecord { Hostname = "dr-box", Addresses = ["100.64.20.5"] }, DeviceFile),
    ];

    public List<HealthEndpoint> Health =
    [
        At(new HealthEndpoint { Index = 0, Id = "wiki", Host = "app-core", Url = "http://10.0.0.4:8080/health" }, HealthFile, "id", "host", "url"),
    ];

    public List<BackupTarget> Backups =
    [
        At(new BackupTarget { Index = 0, Name = "wiki-data", Host = "backup-nas", BasePath = "/vol/backups/wiki", Enabled = true }, BackupFile, "name", "host", "base_path"),
    ];

    public List<NamingException> Naming = [];

    public bool WithStacks = true, WithDevices = true, WithHealth = true, WithBackups = true, WithRegistry = true, WithSsh = true, WithPolicy = true, WithManifest = true;
    public List<RelocationFinding> Validation = [];

    public EstateSnapshot Build()
    {
        Directory.CreateDirectory(Root);
        var layout = new EstateLayout(Root);
        return new EstateSnapshot
        {
            Layout = layout,
            Manifest = !WithManifest ? null : new RelocationManifest
            {
                File = ManifestFile, Location = new SourceLocation(ManifestFile, 1, 1), ActiveRelocation = Active, VmTargets = Vms, Services = Services,
                RequiredUpdates = RequiredUpdates, Exceptions = ManifestExceptions, Rollback = Rollback,
            },
            Policy = !WithPolicy ? null : new PlacementPolicy
            {
                File = PolicyFile, Location = new SourceLocation(PolicyFile, 1, 1), Sites = Sites, Hosts = Hosts,
                VmTargetRequirements = VmRequirements, ServicePlacement = ServicePlacement, Guards = Guards,
            },
            SshTargets = !WithSsh ? null : new SshTargetCatalog { File = SshFile, Location = new SourceLocation(SshFile, 1, 1), Targets = SshTargets },
            ServiceRegistry = !WithRegistry ? null : new ServiceRegistry { File = RegistryFile, Location = new SourceLocation(RegistryFile, 1, 1), Services = Registry },
            StackRegistry = !WithStacks ? null : new StackRegistry { File = StackFile, Location = new SourceLocation(StackFile, 1, 1), Stacks = Stacks },
            DeviceIdentity = !WithDevices ? null : new DeviceIdentity { File = DeviceFile, Location = new SourceLocation(DeviceFile, 1, 1), Devices = Devices },
            HealthBindings = !WithHealth ? null : new HealthBindings { File = HealthFile, Location = new SourceLocation(HealthFile, 1, 1), Endpoints = Health },
            BackupInventory = !WithBackups ? null : new BackupInventory { File = BackupFile, Location = new SourceLocation(BackupFile, 1, 1), Targets = Backups },
            NamingPolicy = new NamingPolicy { File = NamingFile, AllowedExceptions = Naming },
            ExceptionRegister = RegisterExceptions.Count == 0 ? null : new ExceptionRegister { File = RegisterFile, Exceptions = RegisterExceptions },
            ValidationFindings = Validation,
        };
    }

    public ServiceMove Wiki
    {
        get => Services[0];
        set => Services[0] = value;
    }
}
