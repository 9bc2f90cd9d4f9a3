using System.Management.Automation;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// Base of the cmdlets that talk to hosts over SSH: -IdentityFile and -Timeout, one session pool per command,
/// and <see cref="Pump{T}"/>, which runs the fan-out on worker threads through the command's
/// <see cref="PipelinePump"/> (only the pipeline thread writes progress, verbose lines and objects).
/// </summary>
public abstract class RemoteCmdlet : EstateCmdlet, IDisposable
{
    private readonly PipelinePump _pump;
    private SshSessionPool? _pool;

    protected RemoteCmdlet() => _pump = new PipelinePump(this);

    /// <summary>Private key used when neither the ssh target nor ssh.defaults names one.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IdentityFile { get; set; }

    /// <summary>Seconds to wait for each SSH connection (and, for preflight, each probe).</summary>
    [Parameter]
    [ValidateRange(0.1, 3600)]
    public double Timeout { get; set; } = 10;

    /// <summary>SSH settings from the parameters.</summary>
    protected SshResolveOptions SshOptions(TimeSpan? commandTimeout = null) => new()
    {
        IdentityFile = IdentityFile is null ? null : ResolvePath(IdentityFile),
        ConnectTimeout = TimeSpan.FromSeconds(Timeout),
        CommandTimeout = commandTimeout ?? TimeSpan.FromMinutes(2),
    };

    /// <summary>The command's pool: one connection per host, reused by every check; closed when the command ends.</summary>
    protected SshSessionPool Pool => _pool ??= new SshSessionPool { Log = _pump.Verbose };

    protected EstateSnapshot LoadEstate() => Run(() => EstateLoader.Load(Layout));

    /// <summary>Queues an object for the pipeline thread to write (call from a worker thread inside <see cref="Pump{T}"/>).</summary>
    protected void Post(object item) => _pump.Post(item);

    /// <summary>
    /// Runs <paramref name="work"/> on the thread pool and, until it ends, writes what it posts (progress, verbose
    /// lines, objects) from this thread. Core failures become terminating errors; Ctrl+C stops it.
    /// </summary>
    protected T Pump<T>(string activity, Func<Action<FanOutProgress>, CancellationToken, Task<T>> work)
    {
        var task = PumpTask(activity, work);
        return Run(() => task.GetAwaiter().GetResult());
    }

    /// <summary>Like <see cref="Pump{T}"/>, but returns the finished task so the caller handles its failure.</summary>
    protected Task<T> PumpTask<T>(string activity, Func<Action<FanOutProgress>, CancellationToken, Task<T>> work)
        => _pump.Run(activity, work, CancelToken);

    protected override void EndProcessing()
    {
        _pool?.Dispose();
        _pool = null;
        base.EndProcessing();
    }

    // PowerShell disposes the cmdlet however the command ended (also after a terminating error or Ctrl+C).
    void IDisposable.Dispose()
    {
        _pool?.Dispose();
        _pool = null;
        _pump.Dispose();
        Dispose();
    }

}
