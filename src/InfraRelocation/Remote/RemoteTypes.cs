namespace InfraRelocation.Remote;

/// <summary>Outcome of one remote check row (preflight host, readiness check, bootstrap verification).</summary>
public enum RemoteCheckStatus
{
    /// <summary>The check passed.</summary>
    Ok,
    /// <summary>The check failed on something optional: reported, does not fail the run.</summary>
    Warn,
    /// <summary>The check failed.</summary>
    Fail,
    /// <summary>The check was not run (switched off by the profile, or nothing to check); the evidence says why.</summary>
    Skip,
}

/// <summary>Preflight: can a host the relocation involves be reached over SSH.</summary>
public sealed record HostReachability
{
    public string HostId { get; init; } = "";
    /// <summary><c>user@host:port</c> dialled; null when the host has no usable ssh.targets entry.</summary>
    public string? Address { get; init; }
    /// <summary>Required hosts fail the preflight when unreachable; optional ones warn.</summary>
    public bool Required { get; init; }
    /// <summary>Why the host is involved, e.g. <c>to_host of wiki (shadow)</c>.</summary>
    public IReadOnlyList<string> Reasons { get; init; } = [];
    public RemoteCheckStatus Status { get; init; }
    public double? LatencyMs { get; init; }
    public string Evidence { get; init; } = "";
}

/// <summary>Preflight: one service's health endpoint as measured (the baseline the promotion compares against).</summary>
public sealed record HealthBaselineEntry
{
    public string Service { get; init; } = "";
    public string Url { get; init; } = "";
    /// <summary>Null when no HTTP answer arrived.</summary>
    public int? StatusCode { get; init; }
    public double LatencyMs { get; init; }
    public bool Healthy { get; init; }
    /// <summary>Status codes counted as healthy (from the health binding, else 200).</summary>
    public IReadOnlyList<int> Expected { get; init; } = [200];
    /// <summary>Why it is unhealthy; null when healthy.</summary>
    public string? Error { get; init; }
}

/// <summary>Preflight: a service's <c>backup_target</c> (<c>host:/path</c>) checked over SSH on that host.</summary>
public sealed record BackupVerificationEntry
{
    public string Service { get; init; } = "";
    public string BackupTarget { get; init; } = "";
    public bool Verified { get; init; }
    /// <summary>What was found: the fresh file, or why the backup does not count.</summary>
    public string Evidence { get; init; } = "";
    /// <summary>A file must be newer than this to count.</summary>
    public double MaxAgeHours { get; init; }
}

/// <summary>Preflight: a manifest <c>required_updates[]</c> path.</summary>
public sealed record RequiredFileCheck
{
    public string Path { get; init; } = "";
    public bool Exists { get; init; }
}

/// <summary>Get-VmReadiness: one named readiness check.</summary>
public sealed record ReadinessCheck
{
    public string Hostname { get; init; } = "";
    /// <summary><c>vm_running</c>, <c>ssh_target_binding</c>, <c>ssh_reachability</c>, <c>tailscale_connected</c>,
    /// <c>qemu_agent_running</c>, <c>cron_running</c> or <c>backup_binding</c>.</summary>
    public string Check { get; init; } = "";
    public RemoteCheckStatus Status { get; init; }
    public string Evidence { get; init; } = "";
}

/// <summary>What a bootstrap step did.</summary>
public enum BootstrapStepState
{
    /// <summary>Its check showed it was already done; nothing ran (a second run reports every step so, and its receipt Unchanged).</summary>
    Unchanged,
    /// <summary>It ran and its check now passes.</summary>
    Done,
    /// <summary>-WhatIf: listed, nothing ran.</summary>
    Planned,
    /// <summary>It failed (see Evidence); later steps did not run.</summary>
    Failed,
    /// <summary>Not run because an earlier step failed.</summary>
    NotRun,
    /// <summary>Switched off by the profile (e.g. a cron hook that is not required).</summary>
    Skipped,
    /// <summary>Does not apply to this VM (e.g. the mesh join where tailscale is not installed); its check ran, nothing else.</summary>
    NotApplicable,
}

/// <summary>Initialize-RelocationVm: one step of the profile baseline on one VM.</summary>
public sealed record BootstrapStepResult
{
    public string Hostname { get; init; } = "";
    public int Order { get; init; }
    /// <summary>e.g. <c>package:cron</c>, <c>service:cron</c>, <c>cron:docker-prune</c>, <c>mesh:tailscale</c>, <c>step:name</c>.</summary>
    public string Step { get; init; } = "";
    public BootstrapStepState State { get; init; }
    /// <summary>The remote command that decides whether the step is done (exit 0 = done).</summary>
    public string? CheckCommand { get; init; }
    /// <summary>The remote command that does the step (a secret only ever goes to its stdin).</summary>
    public string? RunCommand { get; init; }
    public string Evidence { get; init; } = "";
}
