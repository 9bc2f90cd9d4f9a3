using System.Management.Automation;
using System.Net;
using System.Security;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// Reads a secret through SecretManagement (<c>Get-Secret -Name n -AsPlainText</c>, default vault) when that command
/// exists in the session. Call it on the pipeline thread. The value is returned to the caller only, never written.
/// </summary>
internal static class SecretVault
{
    /// <summary>The secret's plain text; null when SecretManagement is absent, the secret is missing or unreadable.</summary>
    public static string? ReadPlain(PSCmdlet cmdlet, string name)
    {
        if (cmdlet.InvokeCommand.GetCommand("Get-Secret", CommandTypes.Cmdlet | CommandTypes.Function | CommandTypes.Alias) is null)
        {
            return null;
        }
        try
        {
            var script = ScriptBlock.Create("param($n) Get-Secret -Name $n -AsPlainText -ErrorAction Stop");
            var result = cmdlet.InvokeCommand.InvokeScript(false, script, null, name);
            return result.Count == 0 ? null : result[0]?.BaseObject switch
            {
                string s => s,
                SecureString ss => Plain(ss),
                _ => null,
            };
        }
        catch (RuntimeException)
        {
            // The vault's own error may name the secret's store but never its value; callers report "could not be read".
            return null;
        }
    }

    public static string Plain(SecureString secure) => new NetworkCredential(string.Empty, secure).Password;
}
