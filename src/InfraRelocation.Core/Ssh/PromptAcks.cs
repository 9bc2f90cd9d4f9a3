using System.Net.Sockets;
using System.Reflection;
using Renci.SshNet;

namespace InfraRelocation.Core.Ssh;

/// <summary>
/// Keeps a connection's TCP acknowledgements immediate (Linux TCP_QUICKACK, re-armed every millisecond) while the
/// first channel opens. Why: right after authentication an OpenSSH server writes its host-keys notice, then the
/// channel confirmation; Nagle's algorithm on the server holds the confirmation until the notice is acknowledged,
/// and a Linux client that has just sent (the channel open) delays that acknowledgement by 40 ms. Measured on a
/// Debian 12 sshd: the confirmation came 42 ms after the notice, both came together with prompt ACKs
/// (docs/benchmarks.md, SSH latency). Later channels do not meet it (nothing unacknowledged is in flight).
/// SSH.NET keeps its socket private; where it cannot be reached, or off Linux, this does nothing.
/// </summary>
internal sealed class PromptAcks : IDisposable
{
    private const int IpProtoTcp = 6, TcpQuickAck = 12;
    private static readonly byte[] On = BitConverter.GetBytes(1);
    private static readonly PropertyInfo? SessionProperty =
        typeof(BaseClient).GetProperty("Session", BindingFlags.Instance | BindingFlags.NonPublic);

    private readonly Socket _socket;
    private readonly Timer _timer;

    private PromptAcks(Socket socket)
    {
        _socket = socket;
        Arm();
        _timer = new Timer(_ => Arm(), null, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1));
    }

    /// <summary>Starts re-arming quick ACKs on <paramref name="client"/>'s socket; null when that is not possible here.</summary>
    public static PromptAcks? Start(SshClient client)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var session = SessionProperty?.GetValue(client);
        var socket = session?.GetType().GetField("_socket", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(session) as Socket;
        return socket is null ? null : new PromptAcks(socket);
    }

    private void Arm()
    {
        try { _socket.SetRawSocketOption(IpProtoTcp, TcpQuickAck, On); }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { /* connection gone: nothing to speed up */ }
    }

    public void Dispose() => _timer.Dispose();
}
