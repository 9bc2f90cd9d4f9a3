namespace InfraRelocation.Model;

/// <summary>The service registry, <c>SERVICE_REGISTRY.yaml</c>: which host runs each service.</summary>
public sealed record ServiceRegistry : ModelEntry
{
    public string File { get; init; } = "";
    public IReadOnlyDictionary<string, RegisteredService> Services { get; init; } = new Dictionary<string, RegisteredService>();
    public IReadOnlyDictionary<string, RegisteredHost> Hosts { get; init; } = new Dictionary<string, RegisteredHost>();
}

public sealed record RegisteredService : ModelEntry
{
    public string Name { get; init; } = "";
    public string? Host { get; init; }
    public int? Port { get; init; }
    public string? Health { get; init; }
    public string? Container { get; init; }
    public string? Compose { get; init; }
    public string? Status { get; init; }
    /// <summary>The systemd unit that runs the service on its host (rollback stops and starts it with systemctl).</summary>
    public string? Unit { get; init; }
    /// <summary>Per-service commands (<c>commands:</c>); each overrides what <see cref="Unit"/> or <see cref="Compose"/> would give.</summary>
    public ServiceCommands? Commands { get; init; }
}

/// <summary>
/// <c>services.&lt;name&gt;.commands</c>: POSIX shell lines the rollback runs over SSH (see docs/design/step-runner.md).
/// <c>running</c> exits 0 while the service runs (the stop and start steps' check); <c>verify_backup</c> and
/// <c>restore</c> run on the rollback target; <c>route</c> switches DNS/routing (on the rollback target).
/// </summary>
public sealed record ServiceCommands : ModelEntry
{
    public string? Stop { get; init; }
    public string? Start { get; init; }
    public string? Running { get; init; }
    public string? VerifyBackup { get; init; }
    public string? Restore { get; init; }
    public string? Route { get; init; }
}

public sealed record RegisteredHost : ModelEntry
{
    public string Id { get; init; } = "";
    public string? TailscaleIp { get; init; }
    public string? Ssh { get; init; }
    public string? Os { get; init; }
    public int? VmId { get; init; }
    public string? ProxmoxHost { get; init; }
}

/// <summary>The stack registry, <c>STACK_REGISTRY.yaml</c>: where each compose stack lives and deploys.</summary>
public sealed record StackRegistry : ModelEntry
{
    public string File { get; init; } = "";
    public IReadOnlyList<StackEntry> Stacks { get; init; } = [];
}

public sealed record StackEntry : ModelEntry
{
    public int Index { get; init; }
    public string StackId { get; init; } = "";
    public string? Name { get; init; }
    public string? Repo { get; init; }
    public string? Path { get; init; }
    public IReadOnlyList<string> ComposeFiles { get; init; } = [];
    public string? DeployMethod { get; init; }
    /// <summary>Where it deploys, e.g. <c>host:app-core</c> or <c>proxmox:vm-231</c>.</summary>
    public string? DeployTarget { get; init; }
    public string? Status { get; init; }
    public string? Owner { get; init; }
}

/// <summary>Health probes, <c>ops/bindings/services.health.yaml</c>.</summary>
public sealed record HealthBindings : ModelEntry
{
    public string File { get; init; } = "";
    public int? ConnectTimeoutSec { get; init; }
    public int? MaxTimeSec { get; init; }
    public IReadOnlyList<HealthEndpoint> Endpoints { get; init; } = [];
}

public sealed record HealthEndpoint : ModelEntry
{
    public int Index { get; init; }
    /// <summary>Endpoint id; by convention the service name.</summary>
    public string Id { get; init; } = "";
    /// <summary>Host id the endpoint runs on.</summary>
    public string? Host { get; init; }
    public string? Url { get; init; }
    /// <summary>Accepted HTTP status codes (default 200).</summary>
    public IReadOnlyList<int> Expect { get; init; } = [200];
    /// <summary>Missing means enabled.</summary>
    public bool Enabled { get; init; } = true;
    public string? Description { get; init; }
}

/// <summary>Backup inventory, <c>ops/bindings/backup.inventory.yaml</c>.</summary>
public sealed record BackupInventory : ModelEntry
{
    public string File { get; init; } = "";
    public IReadOnlyList<BackupTarget> Targets { get; init; } = [];
}

public sealed record BackupTarget : ModelEntry
{
    public int Index { get; init; }
    public string Name { get; init; } = "";
    public bool Enabled { get; init; } = true;
    public string? Kind { get; init; }
    /// <summary>Host id the backup files live on.</summary>
    public string? Host { get; init; }
    public string? BasePath { get; init; }
    public string? Glob { get; init; }
    public double? StaleAfterHours { get; init; }
    public string? Classification { get; init; }
}

/// <summary>Naming policy exceptions, <c>ops/bindings/naming.policy.yaml</c> (<c>allowed_exceptions[]</c>).</summary>
public sealed record NamingPolicy : ModelEntry
{
    public string File { get; init; } = "";
    public IReadOnlyList<NamingException> AllowedExceptions { get; init; } = [];
}

public sealed record NamingException : ModelEntry
{
    public string Host { get; init; } = "";
    public string? Surface { get; init; }
    /// <summary>The hostname the machine is allowed to report instead of its id.</summary>
    public string? Actual { get; init; }
    public string? Reason { get; init; }
}

/// <summary>The exception register, <c>ops/bindings/legacy.entrypoint.exceptions.yaml</c>.</summary>
public sealed record ExceptionRegister : ModelEntry
{
    public string File { get; init; } = "";
    public IReadOnlyList<ExceptionEntry> Exceptions { get; init; } = [];
}

/// <summary>
/// The device identity document, <c>DEVICE_IDENTITY_SSOT.md</c>: every markdown table row that names a host,
/// with its columns as written.
/// </summary>
public sealed record DeviceIdentity : ModelEntry
{
    public string File { get; init; } = "";
    public IReadOnlyList<DeviceRecord> Devices { get; init; } = [];
}

public sealed record DeviceRecord : ModelEntry
{
    /// <summary>Host id / hostname (first column whose header is hostname, host, device or name).</summary>
    public string Hostname { get; init; } = "";
    /// <summary>Every address found in the row (LAN and mesh IPs).</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];
    /// <summary>The section heading the table is under (often the site).</summary>
    public string? Section { get; init; }
    /// <summary>All columns of the row, by header text.</summary>
    public IReadOnlyDictionary<string, string> Columns { get; init; } = new Dictionary<string, string>();
}
