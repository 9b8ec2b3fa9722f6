// Connection: the vhost-user instance of uds::Connection.
#include "vhost_user/connection.hpp"

#include "uds/connection_impl.hpp"

template class vhostd::uds::Connection<vhostd::vhost_user::SocketTraits>;
