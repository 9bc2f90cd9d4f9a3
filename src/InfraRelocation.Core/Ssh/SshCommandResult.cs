namespace InfraRelocation.Core.Ssh;

/// <summary>What a remote command did. Stdout/Stderr have every known secret masked.</summary>
/// <param name="ExitCode">The remote exit status; -1 when the command ended by a signal.</param>
public sealed record SshCommandResult(
    string EndpointId, string Command, int ExitCode, string Stdout, string Stderr,
    TimeSpan Duration, string? ExitSignal = null)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Throws <c>SshCommandFailed</c> (InvalidOperation) with the stderr tail unless the exit code is 0.</summary>
    public SshCommandResult EnsureSuccess()
    {
        if (Succeeded) return this;
        var err = Stderr.Trim();
        if (err.Length > 400) err = "…" + err[^400..];
        var why = ExitSignal is null ? $"exit code {ExitCode}" : $"signal {ExitSignal}";
        throw new RelocationException("SshCommandFailed", FailureKind.InvalidOperation,
            $"Remote command on {EndpointId} failed ({why}): {Command}" + (err.Length > 0 ? $"{Environment.NewLine}{err}" : ""),
            target: EndpointId);
    }
}

/// <summary>Per-run options for <see cref="SshSessionPool.RunAsync"/>.</summary>
public sealed record SshRunOptions
{
    /// <summary>Overrides <see cref="SshEndpoint.CommandTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>A secret written to the command's stdin (then EOF). Also masked in all output.</summary>
    public SshSecret? SecretStdin { get; init; }
    /// <summary>Non-secret stdin text (e.g. a script for <c>sh -s</c>). Not combinable with <see cref="SecretStdin"/>.</summary>
    public string? Stdin { get; init; }
    /// <summary>Further secrets to mask in output and error text (e.g. one the remote might echo).</summary>
    public IReadOnlyList<SshSecret> Mask { get; init; } = [];
}
