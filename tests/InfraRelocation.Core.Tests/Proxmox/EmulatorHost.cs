using InfraRelocation.Core.Proxmox;
using InfraRelocation.Testing.Proxmox;

namespace InfraRelocation.Core.Tests.Proxmox;

/// <summary>An in-process emulator on 127.0.0.1:0 with short task durations, plus clients for it.</summary>
public sealed class EmulatorHost : IAsyncLifetime
{
    public const string Node = ProxmoxEmulator.DefaultNode;
    public const int Template = ProxmoxEmulator.DefaultTemplateId;

    public ProxmoxEmulator Emulator { get; } = new(new EmulatorOptions
    {
        DefaultTaskDuration = TimeSpan.FromMilliseconds(150),
        AgentBootPolls = 1,
        AuthFailureDelay = TimeSpan.FromMilliseconds(10),
    });

    public EmulatorState State => Emulator.State;
    public ProxmoxEndpoint Endpoint => new(Emulator.BaseUri, Emulator.CertificateFingerprint);

    public ProxmoxClient TokenClient() =>
        new(Endpoint, new ProxmoxApiToken(Emulator.TokenId, new ProxmoxSecret(Emulator.TokenSecret)), TimeSpan.FromSeconds(10));

    public ProxmoxClient PasswordClient(TimeProvider? time = null) =>
        new(Endpoint, new ProxmoxPasswordCredentials(Emulator.User, new ProxmoxSecret(Emulator.Password)), TimeSpan.FromSeconds(10), time);

    public static ProxmoxTaskWaiter Waiter(ProxmoxClient client, TimeSpan? timeout = null) => new(client, new TaskWaitOptions
    {
        Timeout = timeout ?? TimeSpan.FromSeconds(20),
        StallTimeout = TimeSpan.FromSeconds(5),
        InitialPollInterval = TimeSpan.FromMilliseconds(50),
        MaxPollInterval = TimeSpan.FromMilliseconds(200),
        NotYetVisibleGrace = TimeSpan.FromSeconds(5),
    });

    public Task InitializeAsync() => Emulator.StartAsync();
    public Task DisposeAsync() => Emulator.StopAsync();
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock : TimeProvider
{
    public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;
    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>Collects progress reports synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
public sealed class ListProgress<T> : IProgress<T>
{
    private readonly List<T> _items = [];
    public void Report(T value) { lock (_items) _items.Add(value); }
    public IReadOnlyList<T> Items { get { lock (_items) return _items.ToList(); } }
}
