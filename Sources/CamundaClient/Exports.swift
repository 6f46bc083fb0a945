// `JSONValue` (variables, responses) is part of this module's API: importing CamundaClient brings
// it, so a consumer needs no import of the module that defines it.
@_exported import HubBytes
